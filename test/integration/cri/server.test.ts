import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DaemonStartError, startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { grpcError } from '../../fixtures/grpc.js';
import { pino } from 'pino';
import { connectCri } from '../../../src/client/cri.js';
import { CriServer } from '../../../src/cri/server.js';

const BRIDGE_CONFLIST = JSON.stringify({
  cniVersion: '1.0.0',
  name: 'test-net',
  plugins: [{ type: 'bridge', bridge: 'kt0', ipam: { type: 'host-local', subnet: '10.250.0.0/24' } }],
});

describe('CRI server over the unix socket', () => {
  let daemon: KeelsonDaemon;
  beforeAll(async () => {
    daemon = await startKeelson();
  });
  afterAll(async () => {
    await daemon?.destroy();
  });

  it('answers Version as keelson speaking CRI v1', async () => {
    const v = await daemon.client.runtime.call('Version', { version: 'v1' });
    expect(v.runtime_name).toBe('keelson');
    expect(v.runtime_api_version).toBe('v1');
    expect(v.runtime_version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('reports RuntimeReady and NetworkReady=false with a reason when no CNI config exists', async () => {
    const s = await daemon.client.runtime.call('Status', { verbose: false });
    const conditions = s.status?.conditions ?? [];
    const runtime = conditions.find((c) => c.type === 'RuntimeReady');
    const network = conditions.find((c) => c.type === 'NetworkReady');
    expect(runtime?.status).toBe(true);
    expect(network?.status).toBe(false);
    expect(network?.reason).toBe('NetworkPluginNotReady');
    expect(network?.message).toContain(daemon.cniConfDir);
    expect(s.runtime_handlers?.map((h) => h.name)).toEqual(['runc', 'crun']);
  });

  it('turns NetworkReady true once a valid network config appears, and verbose info carries the config', async () => {
    const path = join(daemon.cniConfDir, '10-test.conflist');
    await writeFile(path, BRIDGE_CONFLIST);
    try {
      const s = await daemon.client.runtime.call('Status', { verbose: true });
      const network = s.status?.conditions?.find((c) => c.type === 'NetworkReady');
      expect(network?.status).toBe(true);
      const config = JSON.parse(s.info?.config ?? '{}') as { root?: string };
      expect(config.root).toBe(daemon.root);
    } finally {
      await rm(path);
    }
  });

  it('reports the cgroup driver in use on this host', async () => {
    const rc = await daemon.client.runtime.call('RuntimeConfig', {});
    const expected = existsSync('/run/systemd/system') ? 'SYSTEMD' : 'CGROUPFS';
    expect(rc.linux?.cgroup_driver).toBe(expected);
  });

  it('keeps the pod CIDR UpdateRuntimeConfig gives and reports it; a bad one is refused and changes nothing', async () => {
    const network = async (): Promise<unknown> => JSON.parse((await daemon.client.runtime.call('Status', { verbose: true })).info?.network ?? 'null');
    expect(await network()).toEqual({ podCidr: '' });
    const update = (pod_cidr: string) => daemon.client.runtime.call('UpdateRuntimeConfig', { runtime_config: { network_config: { pod_cidr } } });
    await update('10.244.3.0/24,fd00:10:244:3::/64');
    expect(await network()).toEqual({ podCidr: '10.244.3.0/24,fd00:10:244:3::/64' });
    for (const bad of ['10.244.3.0', '10.244.3.0/33', 'not-a-net/8', '10.0.0.0/8/1']) {
      const err = await grpcError(update(bad));
      expect(err.code).toBe(grpcStatus.INVALID_ARGUMENT);
      expect(err.details).toContain('pod_cidr');
    }
    expect(await network()).toEqual({ podCidr: '10.244.3.0/24,fd00:10:244:3::/64' });
  });

  it('answers UNIMPLEMENTED naming the method for a unary RPC with no handler (a server with no handlers)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keelson-bare-'));
    const bare = new CriServer({ socketPath: join(dir, 'cri.sock'), runtime: {}, image: {}, log: pino({ level: 'silent' }) });
    await bare.listen();
    const client = connectCri(join(dir, 'cri.sock'));
    try {
      const err = await grpcError(client.runtime.call('CheckpointContainer', {}));
      expect(err.code).toBe(grpcStatus.UNIMPLEMENTED);
      expect(err.details).toContain('runtime.v1.RuntimeService/CheckpointContainer');
    } finally {
      client.close();
      await bare.close(100);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('answers UNIMPLEMENTED on a server-streaming RPC too (a server with no handlers)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keelson-bare-'));
    const bare = new CriServer({ socketPath: join(dir, 'cri.sock'), runtime: {}, image: {}, log: pino({ level: 'silent' }) });
    await bare.listen();
    const client = connectCri(join(dir, 'cri.sock'));
    try {
      const err = await grpcError(client.runtime.collect('StreamPodSandboxes', {}));
      expect(err.code).toBe(grpcStatus.UNIMPLEMENTED);
      expect(err.details).toContain('runtime.v1.RuntimeService/StreamPodSandboxes');
    } finally {
      client.close();
      await bare.close(100);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('creates the socket with mode 0660 and the state dirs with 0700', () => {
    expect(statSync(daemon.socket).mode & 0o777).toBe(0o660);
    expect(statSync(daemon.root).mode & 0o777).toBe(0o700);
    expect(statSync(daemon.state).mode & 0o777).toBe(0o700);
  });
});

describe('daemon lifecycle', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it('runs two daemons side by side in different temp dirs', async () => {
    const a = await startKeelson();
    cleanup.push(() => a.destroy());
    const b = await startKeelson();
    cleanup.push(() => b.destroy());
    expect(a.socket).not.toBe(b.socket);
    const [va, vb] = await Promise.all([
      a.client.runtime.call('Version', {}),
      b.client.runtime.call('Version', {}),
    ]);
    expect(va.runtime_name).toBe('keelson');
    expect(vb.runtime_name).toBe('keelson');
  });

  it('refuses a second daemon on the same socket, and the first keeps serving', async () => {
    const first = await startKeelson();
    cleanup.push(() => first.destroy());
    const other = await mkdtemp(join(tmpdir(), 'keelson-it-'));
    cleanup.push(() => rm(other, { recursive: true, force: true }));
    const err = await startKeelson({
      args: ['--root', join(other, 'root'), '--state', join(other, 'state'), '--socket', first.socket],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DaemonStartError);
    expect((err as DaemonStartError).exitCode).not.toBe(0);
    expect((err as DaemonStartError).stderr).toContain(`already using socket ${first.socket}`);
    expect((err as DaemonStartError).stderr).toContain(`pid ${first.process.pid}`);
    expect((await first.client.runtime.call('Version', {})).runtime_name).toBe('keelson');
  });

  it('refuses a second daemon on the same root dir', async () => {
    const first = await startKeelson();
    cleanup.push(() => first.destroy());
    const other = await mkdtemp(join(tmpdir(), 'keelson-it-'));
    cleanup.push(() => rm(other, { recursive: true, force: true }));
    const err = (await startKeelson({
      args: ['--root', first.root, '--state', join(other, 'state')],
    }).catch((e: unknown) => e)) as DaemonStartError;
    expect(err).toBeInstanceOf(DaemonStartError);
    expect(err.stderr).toContain(`already using root dir ${first.root}`);
  });

  it('shuts down cleanly on SIGTERM, removing its socket', async () => {
    const d = await startKeelson();
    cleanup.push(() => d.destroy());
    expect(await d.stop()).toBe(0);
    expect(existsSync(d.socket)).toBe(false);
    expect(d.logs()).toContain('keelson stopped');
  });

  it('a second SIGTERM exits at once yet still removes the socket and closes the database', async () => {
    const d = await startKeelson();
    cleanup.push(() => d.destroy());
    // An open event stream keeps the graceful stop waiting for its 5 s grace.
    const raw = d.client.runtime.raw as unknown as Record<string, (req: object) => { on(e: string, f: () => void): void; cancel(): void }>;
    const events = raw.GetContainerEvents?.call(d.client.runtime.raw, {});
    events?.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 200));
    const exited = new Promise<number | null>((r) => d.process.once('exit', (code) => r(code)));
    const started = Date.now();
    d.process.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    d.process.kill('SIGTERM');
    expect(await exited).toBe(1);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(existsSync(d.socket)).toBe(false);
    // Closed: SQLite checkpoints the write-ahead log into the database and deletes it.
    expect(existsSync(join(d.root, 'keelson.db-wal'))).toBe(false);
    expect(d.logs()).toContain('keelson stopped at once');
  });

  it('replaces the stale socket left by a killed daemon', async () => {
    const first = await startKeelson();
    await first.kill();
    expect(existsSync(first.socket)).toBe(true);
    const second = await startKeelson({ base: first.base });
    cleanup.push(() => second.destroy());
    expect((await second.client.runtime.call('Version', {})).runtime_name).toBe('keelson');
  });

  it('refuses a socket path that holds something other than a socket', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keelson-it-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const notSocket = join(dir, 'regular-file');
    await writeFile(notSocket, 'keep me');
    const err = (await startKeelson({
      args: ['--root', join(dir, 'root'), '--state', join(dir, 'state'), '--socket', notSocket],
    }).catch((e: unknown) => e)) as DaemonStartError;
    expect(err).toBeInstanceOf(DaemonStartError);
    expect(err.stderr).toContain('exists and is not a socket');
    expect(statSync(notSocket).isFile()).toBe(true);
  });

  it('rejects a config file with an unknown key, naming the key', async () => {
    const err = (await startKeelson({ configToml: '[runtime]\ndefault_handlr = "runc"\n' }).catch(
      (e: unknown) => e,
    )) as DaemonStartError;
    expect(err).toBeInstanceOf(DaemonStartError);
    expect(err.exitCode).not.toBe(0);
    expect(err.stderr).toContain('unknown key "runtime.default_handlr"');
  });
});

// Graceful stop and lifecycle hooks through the `keelson` binary against a real daemon, as
// kubelet does them: `down`/`stop`/`rm` run preStop, send SIGTERM and wait out
// terminationGracePeriodSeconds before SIGKILL, with no restart meanwhile; postStart runs after
// every start and a failing one kills the container, which the supervisor then restarts; preStop
// httpGet goes to the pod IP.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTestNetwork, writeNetworkConfig, type TestNetwork } from '../../fixtures/cni.js';
import { runCli, startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { unmountAllUnder } from '../../fixtures/sandbox.js';
import { waitFor } from '../../fixtures/wait.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const IMAGE = 'localhost/keelson/demo:latest';
/** Fast backoff: a restart during a 3 s grace period would show. */
const SUPERVISOR_TOML = '[supervisor]\nbackoff_base_ms = 500\nbackoff_max_ms = 4000\ntick_ms = 100\n';
let daemon: KeelsonDaemon;
let net: TestNetwork;
let env: NodeJS.ProcessEnv;
let dir: string;

interface PodRowJson {
  id: string;
  name: string;
  restarts: number;
  supervised: { containers: Array<{ name: string; restarts: number; lastHook: { kind: string; ok: boolean; message: string } | null }> } | null;
}

async function ok(...args: string[]): Promise<string> {
  const r = await runCli(args, env);
  if (r.code !== 0) throw new Error(`keelson ${args.join(' ')} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

async function pods(): Promise<PodRowJson[]> {
  return JSON.parse(await ok('pods', '-o', 'json')) as PodRowJson[];
}

const unique = (name: string): string => `${name}-${randomBytes(3).toString('hex')}`;

/** A manifest file, and a fresh host dir the pod mounts at /out (hostPath) to leave traces in. */
async function setup(name: string, text: (out: string) => string): Promise<{ file: string; out: string }> {
  const out = join(dir, `${name}-out`);
  await mkdir(out, { recursive: true });
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, text(out));
  return { file, out };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const t0 = Date.now();
  const value = await fn();
  return { value, seconds: (Date.now() - t0) / 1000 };
}

const read = (path: string): string => (existsSync(path) ? readFileSync(path, 'utf8') : '');

beforeAll(async () => {
  daemon = await startKeelson({ configToml: SUPERVISOR_TOML });
  net = makeTestNetwork(daemon.base);
  await writeNetworkConfig(daemon.cniConfDir, net);
  dir = join(daemon.base, 'manifests');
  await mkdir(dir, { recursive: true });
  env = { KEELSON_SOCKET: daemon.socket, KEELSON_ROOT: daemon.root, KEELSON_LOG_ROOT: join(daemon.base, 'pod-logs') };
  const layout = join(daemon.base, 'demo-image');
  execFileSync(join(repo, 'scripts/build-demo-image.sh'), [layout], { stdio: 'ignore' });
  await ok('image', 'import', layout);
}, 120_000);

afterEach(async () => {
  // Each test removes its pods; this catches what a failed one left, without waiting for grace.
  for (const p of await pods().catch(() => [])) await runCli(['rm', '--grace-period', '0', p.id], env);
});

afterAll(async () => {
  if (daemon) {
    await daemon.stop();
    unmountAllUnder(daemon.base);
    await daemon.destroy();
  }
  net?.cleanup();
});

describe('graceful stop', () => {
  it('down sends SIGTERM, waits terminationGracePeriodSeconds for a container ignoring it, and restarts nothing meanwhile', async () => {
    const name = unique('grace');
    const { file, out } = await setup(name, (o) => `
apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  restartPolicy: Always
  terminationGracePeriodSeconds: 3
  containers:
    - name: trapper
      image: ${IMAGE}
      # sh traps TERM (the trap runs once the 1 s sleep returns) and exits 0: restartPolicy Always
      # would restart it if the supervisor still watched the pod.
      command: ["sh", "-c", "echo start >> /out/starts; trap 'echo term >> /out/order; exit 0' TERM; while true; do sleep 1; done"]
      volumeMounts: [{ name: out, mountPath: /out }]
    # sleep as PID 1 has no TERM handler, so TERM does nothing: only SIGKILL, after the grace, ends it.
    - name: stubborn
      image: ${IMAGE}
      command: ["sleep", "3600"]
  volumes:
    - { name: out, hostPath: { path: ${o}, type: Directory } }
`);
    await ok('run', file);
    await waitFor('the trap set', async () => (read(join(out, 'starts')) === 'start\n' ? true : undefined));
    await new Promise((r) => setTimeout(r, 500)); // the trap line runs right after the echo
    const { value, seconds } = await timed(() => ok('down', file));
    expect(value).toMatch(new RegExp(`removed pod default/${name}`));
    expect(read(join(out, 'order'))).toBe('term\n'); // SIGTERM came, not SIGKILL
    expect(seconds).toBeGreaterThanOrEqual(3); // the stubborn one got its whole grace
    expect(seconds).toBeLessThan(10);
    // trapper exited 0 about 1 s into the 3 s; a restart (backoff 500 ms) would have started it again.
    expect(read(join(out, 'starts'))).toBe('start\n');
    expect((await pods()).find((p) => p.name === name)).toBeUndefined();
  }, 60_000);

  it('stop runs the preStop exec hook before SIGTERM; rm --grace-period 0 kills at once without it', async () => {
    const name = unique('prestop');
    const { file, out } = await setup(name, (o) => `
apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  containers:
    - name: app
      image: ${IMAGE}
      command: ["sh", "-c", "trap 'echo term >> /out/order; exit 0' TERM; while true; do sleep 1; done"]
      lifecycle:
        preStop: { exec: { command: ["sh", "-c", "echo prestop >> /out/order"] } }
      volumeMounts: [{ name: out, mountPath: /out }]
  volumes:
    - { name: out, hostPath: { path: ${o}, type: Directory } }
`);
    const run = await runCli(['run', file], env);
    expect(run.code).toBe(0);
    expect(run.stderr).not.toMatch(/lifecycle/); // no longer warned as ignored
    await new Promise((r) => setTimeout(r, 1000)); // the trap is set
    expect(await ok('stop', name)).toMatch(/stopped pod/);
    expect(read(join(out, 'order'))).toBe('prestop\nterm\n');
    const inspected = JSON.parse(await ok('inspect', name)) as { supervisor: { containers: Array<{ lastHook: { kind: string; ok: boolean } }> } };
    expect(inspected.supervisor.containers[0]?.lastHook).toMatchObject({ kind: 'preStop', ok: true });
    await ok('rm', name);

    // The same pod with a 30 s grace, removed with --grace-period 0: no preStop, SIGKILL now.
    await writeFile(join(out, 'order'), '');
    await ok('run', file);
    await new Promise((r) => setTimeout(r, 1000));
    const { seconds } = await timed(() => ok('rm', '--grace-period', '0', name));
    expect(seconds).toBeLessThan(5);
    expect(read(join(out, 'order'))).toBe('');
  }, 60_000);

  it('runs a preStop httpGet against the pod IP before the stop', async () => {
    const name = unique('httphook');
    const { file } = await setup(name, () => `
apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  terminationGracePeriodSeconds: 2
  containers:
    - name: web
      image: ${IMAGE}
      command: ["sh", "-c", "mkdir -p /www; echo bye > /www/quit; exec httpd -f -p 8080 -h /www"]
      ports: [{ name: http, containerPort: 8080 }]
      lifecycle:
        preStop: { httpGet: { path: /quit, port: http } }
`);
    await ok('run', file);
    await new Promise((r) => setTimeout(r, 1000)); // httpd listening
    await ok('stop', name);
    // 200 only from this pod's httpd, which serves /quit; a hook not run leaves lastHook null.
    const inspected = JSON.parse(await ok('inspect', name)) as { supervisor: { containers: Array<{ lastHook: { kind: string; ok: boolean; message: string } }> } };
    expect(inspected.supervisor.containers[0]?.lastHook).toMatchObject({ kind: 'preStop', ok: true, message: 'HTTP 200' });
    await ok('rm', name);
  }, 60_000);

  it('a liveness failure runs preStop before the kill, then the container restarts', async () => {
    const name = unique('live');
    const { file, out } = await setup(name, (o) => `
apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  terminationGracePeriodSeconds: 2
  containers:
    - name: app
      image: ${IMAGE}
      command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
      livenessProbe: { exec: { command: ["false"] }, periodSeconds: 1, failureThreshold: 1 }
      lifecycle:
        preStop: { exec: { command: ["sh", "-c", "echo prestop >> /out/order"] } }
      volumeMounts: [{ name: out, mountPath: /out }]
  volumes:
    - { name: out, hostPath: { path: ${o}, type: Directory } }
`);
    await ok('run', file);
    await waitFor('a restart', async () => (await pods()).find((p) => p.name === name && p.restarts >= 1), 30_000);
    expect(read(join(out, 'order'))).toMatch(/^prestop\n/);
    await ok('rm', '--grace-period', '0', name);
  }, 60_000);
});

describe('postStart', () => {
  it('runs right after the start, before the command can see its absence', async () => {
    const name = unique('poststart');
    const { file } = await setup(name, () => `
apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  containers:
    - name: app
      image: ${IMAGE}
      command: ["sleep", "3600"]
      lifecycle:
        postStart: { exec: { command: ["sh", "-c", "echo from-poststart > /tmp/hook"] } }
`);
    await ok('run', file);
    // `keelson run` returns once postStart is done, so the file is there at once.
    expect(await ok('exec', `${name}/app`, '--', 'cat', '/tmp/hook')).toBe('from-poststart\n');
    const inspected = JSON.parse(await ok('inspect', name)) as { supervisor: { containers: Array<{ lastHook: { kind: string; ok: boolean } }> } };
    expect(inspected.supervisor.containers[0]?.lastHook).toMatchObject({ kind: 'postStart', ok: true });
    await ok('rm', '--grace-period', '0', name);
  }, 60_000);

  it('a failing postStart kills the container, which restarts and runs postStart again', async () => {
    const name = unique('badhook');
    const { file } = await setup(name, () => `
apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: app
      image: ${IMAGE}
      command: ["sleep", "3600"]
      lifecycle:
        postStart: { exec: { command: ["sh", "-c", "echo no-config >&2; exit 7"] } }
`);
    const run = await runCli(['run', file], env);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/container app: postStart hook failed \(exit code 7: no-config\)/);
    // Two restarts: the supervisor's restarts run postStart too (else the second attempt would live).
    const row = await waitFor('two restarts', async () => (await pods()).find((p) => p.name === name && p.restarts >= 2), 30_000);
    expect(row.supervised?.containers[0]?.lastHook).toMatchObject({ kind: 'postStart', ok: false, message: 'exit code 7: no-config' });
    await ok('rm', '--grace-period', '0', name);
  }, 60_000);
});

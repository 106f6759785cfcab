// A CSI plugin that dies while pods need it, end to end: the daemon runs the fixture plugin
// (test/fixtures/csi-plugin) as a plugin binary and restarts it after `csi.restart_backoff_ms`
// (3 s here, longer than the client's own retries take); `keelson run` pods with a named
// volume publish through it. `keelson plugins` must show the dead plugin as restarting, a
// publish must wait for the restart within the call window (call_timeout_seconds, 10 s here),
// and a publish that finally fails must leave no pod, no mount and no staging behind.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { claim, CsiCliEnv, fixturePluginToml, readCalls } from '../../fixtures/csi-e2e.js';
import { CLI_PATH } from '../../fixtures/daemon.js';
import { waitFor } from '../../fixtures/wait.js';

const DRIVER = 'restart.csi.keelson.dev';

let t: CsiCliEnv;
let pluginState: string;

interface PluginJson {
  name: string;
  state: string;
  healthy: boolean;
  lastError: string | null;
  process: { pid: number | null; running: boolean; restarts: number } | null;
}

interface VolumeJson { name: string; volumeId: string; pods: string[]; staged: boolean }

const plugin = async (): Promise<PluginJson> => {
  const p = (await t.json<PluginJson[]>('plugins')).find((x) => x.name === DRIVER);
  if (!p) throw new Error(`${DRIVER} not listed`);
  return p;
};

const healthyPid = (): Promise<number> => waitFor('the plugin to be healthy', async () => {
  const p = await plugin();
  return p.healthy && p.process?.pid ? p.process.pid : undefined;
}, 90_000);

const count = (method: string, volumeId: string): number =>
  readCalls(pluginState).filter((c) => c.method === method && c.ok !== false && c.volume_id === volumeId).length;

async function newVolume(prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await t.ok('volume', 'create', name, '--driver', DRIVER, '--size', '8Mi');
  return name;
}

beforeAll(async () => {
  t = await CsiCliEnv.start('keelson-csi-restart', (base) =>
    `[csi]\ncall_timeout_seconds = 10\ncall_retries = 1\nrestart_backoff_ms = 3000\n${fixturePluginToml(DRIVER, join(base, 'plugin'))}`);
  pluginState = join(t.base, 'plugin', 'state');
}, 120_000);

afterEach(async () => {
  await rm(join(pluginState, 'fail'), { recursive: true, force: true });
  await rm(join(pluginState, 'hang'), { recursive: true, force: true });
  await healthyPid();
  await t.removeAllPods();
}, 120_000);

afterAll(async () => {
  await t?.destroy();
});

describe('a CSI plugin restarting under its pods', () => {
  it('`keelson plugins` shows a dead plugin as restarting with no pid, not healthy', async () => {
    const pid = await healthyPid();
    expect((await plugin()).state).toBe('healthy');
    process.kill(pid, 'SIGKILL');
    const dead = await waitFor('the exit to be seen', async () => {
      const p = await plugin();
      return p.process?.pid === null ? p : undefined;
    });
    expect(dead.healthy).toBe(false);
    expect(dead.state).toBe('restarting');
    const row = (await t.ok('plugins')).split('\n').find((l) => l.startsWith(DRIVER)) ?? '';
    expect(row).toMatch(/\srestarting: plugin process exited \(killed by signal SIGKILL\)/);
    expect(row).not.toMatch(/\shealthy\s/);
    expect(await healthyPid()).not.toBe(pid);
  });

  it('a publish in flight when the plugin is killed waits for its restart, and the pod runs', async () => {
    const name = await newVolume('survivor');
    const pid = await healthyPid();
    await mkdir(join(pluginState, 'hang'), { recursive: true });
    await writeFile(join(pluginState, 'hang', 'NodePublishVolume'), '');
    const file = await t.manifest('survivor', claim(name), 'echo volume-ready; sleep 3600');
    const run = spawn(process.execPath, [CLI_PATH, 'run', file], { env: t.cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    run.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<number | null>((r) => run.once('exit', r));
    await waitFor('the publish to reach the plugin', () => (readCalls(pluginState).some((c) => c.method === 'NodePublishVolume' && c.code === 'HANG') ? true : undefined));
    await rm(join(pluginState, 'hang'), { recursive: true, force: true });
    process.kill(pid, 'SIGKILL');
    expect(await exited, stderr).toBe(0);
    const pods = JSON.parse(await t.ok('pods', '-o', 'json')) as Array<{ name: string }>;
    expect(pods).toHaveLength(1);
    await t.waitForLog(pods[0]?.name ?? '', 'volume-ready');
    const p = await plugin();
    expect(p.process?.restarts).toBeGreaterThanOrEqual(1);
    const volumeId = (await t.json<VolumeJson[]>('volume', 'ls')).find((v) => v.name === name)?.volumeId ?? '';
    expect(count('NodePublishVolume', volumeId)).toBe(1);
    await t.ok('rm', pods[0]?.name ?? '');
    expect(t.csiMounts()).toEqual([]);
    await t.ok('volume', 'rm', name);
  });

  it('a publish whose plugin stays down past the window fails the pod and leaves no pod, mount or staging', async () => {
    const name = await newVolume('stranded');
    const pid = await healthyPid();
    await mkdir(join(pluginState, 'fail'), { recursive: true });
    await writeFile(join(pluginState, 'fail', 'start'), '');
    process.kill(pid, 'SIGKILL');
    await waitFor('the exit to be seen', async () => ((await plugin()).process?.pid === null ? true : undefined));
    const r = await t.cli('run', await t.manifest('stranded', claim(name), 'sleep 3600'));
    expect(r.code).not.toBe(0);
    expect(JSON.parse(await t.ok('pods', '-o', 'json'))).toEqual([]);
    expect(t.csiMounts()).toEqual([]);
    const podsDir = join(t.daemon.root, 'csi', 'pods');
    expect(existsSync(podsDir) ? readdirSync(podsDir) : []).toEqual([]);
    const v = (await t.json<VolumeJson[]>('volume', 'ls')).find((x) => x.name === name);
    expect(v?.pods).toEqual([]);
    expect(v?.staged).toBe(false);
    expect(r.stderr).toMatch(new RegExp(`${DRIVER.replaceAll('.', '\\.')}.*(not running|restarting)`));
    await rm(join(pluginState, 'fail'), { recursive: true, force: true });
    await healthyPid();
    await t.ok('volume', 'rm', name);
  }, 120_000);
});

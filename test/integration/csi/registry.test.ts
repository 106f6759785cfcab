// PluginRegistry in-process with the fixture CSI plugin as a plugin binary it runs and
// restarts (a real process on a real socket): what health says while the plugin is dead and
// waiting out its restart backoff, and that the first probe after a restart reaches the plugin
// even when calls during the downtime left the gRPC channel in reconnect backoff.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CsiSettings } from '../../../src/config/schema.js';
import { PluginRegistry, type CsiPlugin, type PluginView } from '../../../src/csi/registry.js';
import { FIXTURE_PLUGIN } from '../../fixtures/csi-fixture.js';
import { waitFor } from '../../fixtures/wait.js';

const NAME = 'registry.csi.keelson.dev';
const BACKOFF_MS = 3000;

let dir: string;
let registry: PluginRegistry;

function settings(): CsiSettings {
  const socket = join(dir, 'csi.sock');
  return {
    plugins: { [NAME]: { endpoint: socket, binary: process.execPath, args: [FIXTURE_PLUGIN, '--endpoint', `unix://${socket}`, '--state-dir', join(dir, 'state'), '--name', NAME] } },
    registration_dir: '', call_timeout_seconds: 5, call_retries: 0, restart_backoff_ms: BACKOFF_MS,
  };
}

const view = (): PluginView => {
  const v = registry.list().find((p) => p.name === NAME);
  if (!v) throw new Error(`${NAME} not listed`);
  return v;
};

async function healthyPlugin(): Promise<CsiPlugin> {
  await waitFor('the plugin to be started and probed', () => (view().healthy ? true : undefined), 20_000);
  return registry.get(NAME);
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keelson-csi-registry-'));
  registry = new PluginRegistry({ settings: settings(), state: dir, log: pino({ level: 'silent' }) });
  await registry.start();
});

afterEach(async () => {
  await registry?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('PluginRegistry with a plugin binary', () => {
  it('reports a plugin dead in its restart backoff as restarting, not healthy, and healthy again once it serves', async () => {
    await healthyPlugin();
    expect(view().state).toBe('healthy');
    const pid = view().process?.pid ?? 0;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    const dead = await waitFor('the plugin exit to be seen', () => (view().process?.running === false ? view() : undefined));
    expect(dead.process?.pid).toBeNull();
    expect(dead.healthy).toBe(false);
    expect(dead.state).toBe('restarting');
    expect(dead.lastError).toMatch(/exited|restart/);
    const back = await waitFor('the restarted plugin to be healthy', () => {
      const v = view();
      return v.healthy && v.process?.pid && v.process.pid !== pid ? v : undefined;
    }, 20_000);
    expect(back.state).toBe('healthy');
  });

  it('probes a restarted plugin healthy at once, though calls while it was down left the channel in reconnect backoff', async () => {
    const plugin = await healthyPlugin();
    const pid = view().process?.pid ?? 0;
    process.kill(pid, 'SIGKILL');
    const restartAt = await waitFor('the restart to be scheduled', () => plugin.process?.status().nextRestartAt ?? undefined);
    // Calls while nothing listens (a pod's publish, `volume ls`) push the channel's reconnect
    // backoff up to its maximum; stop just before the new process starts.
    let failed = 0;
    while (Date.now() < restartAt - 300) {
      await plugin.client.identity('Probe', {}, { retries: 0, timeoutMs: 1000 }).catch(() => failed++);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(failed).toBeGreaterThan(0);
    // The registry's own probe after the restart, the first call the new process sees, must succeed.
    const probed = await waitFor('the probe after the restart', () => {
      const st = plugin.process?.status();
      return st?.running && st.pid !== pid && plugin.probing === null && (plugin.probedAt ?? 0) > restartAt ? true : undefined;
    }, 20_000);
    expect(probed).toBe(true);
    expect(plugin.lastError).toBeNull();
    expect(plugin.healthy).toBe(true);
  });
});

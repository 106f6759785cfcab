// RegistrationWatcher against real registration sockets: the fixture plugin playing
// node-driver-registrar, plus a socket that accepts connections and never speaks gRPC.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RegistrationWatcher, type DiscoveredPlugin } from '../../../src/csi/registration.js';
import { startFixturePlugin, type FixturePlugin } from '../../fixtures/csi-fixture.js';
import { unmountAllUnder } from '../../fixtures/sandbox.js';

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(process.getuid?.() !== 0)('RegistrationWatcher', () => {
  let dir: string;
  let regDir: string;
  let plugins: FixturePlugin[];
  let watchers: RegistrationWatcher[];
  let found: DiscoveredPlugin[];
  let gone: string[];
  const log = pino({ level: process.env.KEELSON_TEST_LOG ?? 'silent' });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'keelson-csi-reg-'));
    regDir = join(dir, 'plugins_registry');
    plugins = [];
    watchers = [];
    found = [];
    gone = [];
  });

  afterEach(async () => {
    for (const w of watchers) await w.stop();
    for (const p of plugins) await p.stop();
    unmountAllUnder(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  function watcher(onPlugin: (p: DiscoveredPlugin) => void = (p) => void found.push(p)): RegistrationWatcher {
    const w = new RegistrationWatcher({ dir: regDir, log, onPlugin, onPluginGone: (name) => void gone.push(name), rescanIntervalMs: 500, callTimeoutMs: 1_000 });
    watchers.push(w);
    return w;
  }

  async function plugin(sub: string, args: string[] = []): Promise<FixturePlugin> {
    const p = await startFixturePlugin(join(dir, sub), ['--registration-dir', regDir, ...args]);
    plugins.push(p);
    return p;
  }

  it('registers a plugin that appears, tells it so, and reports it gone when it exits', async () => {
    await watcher().start();
    expect(statSync(regDir).mode & 0o777).toBe(0o750);
    const p = await plugin('a');
    await until('onPlugin', () => found.length === 1);
    expect(found[0]).toEqual({
      name: 'fixture.csi.keelson.dev',
      endpoint: p.socket,
      versions: ['1.0.0'],
      registrationSocket: join(regDir, 'fixture.csi.keelson.dev-reg.sock'),
    });
    await until('NotifyRegistrationStatus', () => p.calls().some((c) => c.method === 'NotifyRegistrationStatus'));
    const notes = p.calls().filter((c) => c.method === 'NotifyRegistrationStatus');
    expect(notes).toEqual([expect.objectContaining({ plugin_registered: true, ok: true })]);

    expect(await p.stop()).toBe(0);
    await until('onPluginGone', () => gone.length === 1);
    expect(gone).toEqual(['fixture.csi.keelson.dev']);
  });

  it('finds plugins already there at start, and refuses one when onPlugin throws', async () => {
    const ok = await plugin('ok', ['--name', 'ok.csi.test']);
    const bad = await plugin('bad', ['--name', 'bad.csi.test']);
    await watcher((p) => {
      if (p.name === 'bad.csi.test') throw new Error('driver name clashes');
      found.push(p);
    }).start();
    // The initial scan has registered them by the time start() resolves.
    expect(found.map((p) => p.name)).toEqual(['ok.csi.test']);
    await until('both notified', () => [ok, bad].every((p) => p.calls().some((c) => c.method === 'NotifyRegistrationStatus')));
    expect(ok.calls().find((c) => c.method === 'NotifyRegistrationStatus')).toMatchObject({ plugin_registered: true });
    const refused = bad.calls().find((c) => c.method === 'NotifyRegistrationStatus');
    expect(refused?.plugin_registered).toBe(false);
    expect(refused?.error).toContain('driver name clashes');

    await bad.stop();
    await ok.stop();
    await until('ok gone', () => gone.length === 1);
    // Only what was registered is reported gone.
    expect(gone).toEqual(['ok.csi.test']);
  });

  it('retries a socket that does not answer on the next rescan, and registers it once it does', async () => {
    const sock = join(regDir, 'mute-reg.sock');
    let connections = 0;
    const mute: Server = createServer((c) => {
      connections++;
      c.destroy();
    });
    const w = watcher();
    await w.start();
    await new Promise<void>((ok) => mute.listen(sock, ok));
    try {
      await until('a first attempt', () => connections > 0);
      const first = connections;
      writeFileSync(join(regDir, 'poke'), ''); // any event makes a rescan
      await until('a retry', () => connections > first);
      expect(found).toEqual([]);
      expect(gone).toEqual([]);
    } finally {
      await new Promise<void>((ok) => mute.close(() => ok()));
    }
    await plugin('late');
    await until('onPlugin', () => found.length === 1);
  });
});

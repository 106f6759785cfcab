import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';

describe('keelson CLI', () => {
  let daemon: KeelsonDaemon;
  beforeAll(async () => {
    daemon = await startKeelson();
  });
  afterAll(async () => {
    await daemon?.destroy();
  });

  it('version talks to the daemon over --socket', async () => {
    const r = await runCli(['version', '--socket', daemon.socket]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Runtime name:\s+keelson/);
    expect(r.stdout).toMatch(/Runtime API version:\s+v1/);
  });

  it('info reads KEELSON_SOCKET and shows conditions and the cgroup driver', async () => {
    const r = await runCli(['info'], { KEELSON_SOCKET: daemon.socket });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/RuntimeReady\s+true/);
    expect(r.stdout).toMatch(/NetworkReady\s+false\s+NetworkPluginNotReady/);
    expect(r.stdout).toMatch(/Cgroup driver:\s+(cgroupfs|systemd)/);
  });

  it('info -o json prints parseable JSON', async () => {
    const r = await runCli(['info', '-o', 'json', '--socket', daemon.socket]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { version: { runtime_name: string } };
    expect(report.version.runtime_name).toBe('keelson');
  });

  it('says how to start the daemon when none is running', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keelson-it-'));
    try {
      const r = await runCli(['version', '--socket', join(dir, 'none.sock')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('is the daemon running? Start it with `keelson serve`');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('config default prints TOML with every setting', async () => {
    const r = await runCli(['config', 'default']);
    expect(r.code).toBe(0);
    const cfg = parseToml(r.stdout) as { root: string; socket: string; cni: { bin_dirs: string[] } };
    expect(cfg.root).toBe('/var/lib/keelson');
    expect(cfg.socket).toBe('/run/keelson/keelson.sock');
    expect(cfg.cni.bin_dirs).toContain('/usr/lib/cni');
  });

  it('has --help on every command', async () => {
    for (const args of [['--help'], ['serve', '--help'], ['info', '--help'], ['config', 'default', '--help']]) {
      const r = await runCli(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Usage: keelson');
    }
  });
});

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
    expect(r.stdout).toMatch(/Features:\s+supplemental_groups_policy=true, user_namespaces_host_network=false, mount_options=false/);
    expect(r.stdout).toMatch(/handler runc: recursive_read_only_mounts=false, user_namespaces=false/);
  });

  it('info -o json prints parseable JSON', async () => {
    const r = await runCli(['info', '-o', 'json', '--socket', daemon.socket]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { version: { runtimeName: string; runtimeApiVersion: string }; status: { runtimeHandlers: unknown[] } };
    expect(report.version.runtimeName).toBe('keelson');
    expect(report.version.runtimeApiVersion).toBe('v1');
    expect(report.status.runtimeHandlers.length).toBeGreaterThan(0);
    expect(r.stdout).not.toMatch(/"[a-z]+_[a-z_]+":/); // camelCase keys, as kubectl's
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

  it('takes global options before the command as well as after it', async () => {
    const before = await runCli(['--socket', daemon.socket, 'version']);
    expect(before.stderr).toBe('');
    expect(before.code).toBe(0);
    expect(before.stdout).toMatch(/Runtime name:\s+keelson/);
    const after = await runCli(['version', '--socket', daemon.socket]);
    expect(after.stdout).toBe(before.stdout);
    // The command's own --socket wins over the program's.
    const both = await runCli(['--socket', '/nonexistent/keelson.sock', 'version', '--socket', daemon.socket]);
    expect(both.code).toBe(0);
  });

  it('--version prints the client version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^keelson \d+\.\d+\.\d+/);
  });

  it('a typo\'d command says so and suggests the right one, without the whole help', async () => {
    const r = await runCli(['pdos']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown command 'pdos'");
    expect(r.stderr).toContain('Did you mean pods?');
    expect(r.stderr).not.toContain('Commands:');
    expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(3);
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

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseToml } from 'smol-toml';
import { defaultConfig } from '../../../src/config/defaults.js';
import { defaultConfigToml, loadConfig, resolveConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/errors.js';

describe('config', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keelson-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('uses the defaults when the file is absent and not required', async () => {
    const cfg = await loadConfig({ path: join(dir, 'absent.toml'), required: false });
    expect(cfg).toEqual(defaultConfig());
    expect(cfg.socket).toBe('/run/keelson/keelson.sock');
  });

  it('refuses a missing file that was asked for by name', async () => {
    await expect(loadConfig({ path: join(dir, 'absent.toml'), required: true })).rejects.toThrow(
      /absent\.toml: cannot read/,
    );
  });

  it('merges a partial file over the defaults, keeping nested defaults', async () => {
    const path = join(dir, 'partial.toml');
    await writeFile(path, 'log_level = "debug"\n[cni]\nconf_dir = "/tmp/cni"\n');
    const cfg = await loadConfig({ path, required: true });
    expect(cfg.log_level).toBe('debug');
    expect(cfg.cni.conf_dir).toBe('/tmp/cni');
    expect(cfg.cni.bin_dirs).toEqual(['/opt/cni/bin', '/usr/lib/cni']);
    expect(cfg.runtime.handlers.runc?.path).toBe('runc');
  });

  it('names an unknown top-level key', () => {
    expect(() => resolveConfig({ rooot: '/x' }, {}, 'f.toml')).toThrow(/unknown key "rooot"/);
  });

  it('names an unknown nested key with its full path', () => {
    expect(() => resolveConfig({ cni: { conf_dirs: '/x' } }, {}, 'f.toml')).toThrow(
      /unknown key "cni\.conf_dirs"/,
    );
  });

  it('names a key whose value has the wrong type or value', () => {
    expect(() => resolveConfig({ cni: { bin_dirs: ['relative'] } }, {}, 'f.toml')).toThrow(
      /key "cni\.bin_dirs\[0\]" must be an absolute path/,
    );
    expect(() => resolveConfig({ log_level: 'loud' }, {}, 'f.toml')).toThrow(
      /key "log_level" must be one of "trace"/,
    );
    expect(() => resolveConfig({ root: 5 }, {}, 'f.toml')).toThrow(ConfigError);
  });

  it('rejects a default handler that is not configured', () => {
    expect(() => resolveConfig({ runtime: { default_handler: 'kata' } }, {}, 'f.toml')).toThrow(
      /runtime\.default_handler "kata"/,
    );
  });

  it('lets flags win over the file and derives the socket from the state dir', () => {
    const cfg = resolveConfig({ root: '/a', state: '/s1' }, { root: '/b', state: '/s2' }, 'f.toml');
    expect(cfg.root).toBe('/b');
    expect(cfg.socket).toBe('/s2/keelson.sock');
    const explicit = resolveConfig({ socket: '/x/k.sock' }, { state: '/s2' }, 'f.toml');
    expect(explicit.socket).toBe('/x/k.sock');
  });

  it('validates flags the same way as the file', () => {
    expect(() => resolveConfig({}, { log_level: 'chatty' }, 'f.toml')).toThrow(
      /command line: key "log_level"/,
    );
  });

  it('prints defaults that load back to the same config', async () => {
    const text = defaultConfigToml();
    expect(resolveConfig(parseToml(text), {}, 'printed')).toEqual(defaultConfig());
  });

  it('reports broken TOML as such', async () => {
    const path = join(dir, 'broken.toml');
    await writeFile(path, 'root = \n');
    await expect(loadConfig({ path, required: true })).rejects.toThrow(/not valid TOML/);
  });
});

import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/config/load.js';

const load = (toml: string, overrides = {}) => resolveConfig(parseToml(toml), overrides, 'test.toml');

describe('[csi] settings', () => {
  it('has defaults; the registration dir follows the root dir unless set', () => {
    const c = load('');
    expect(c.csi.plugins).toEqual({});
    expect(c.csi.registration_dir).toBe('/var/lib/keelson/plugins_registry');
    expect(c.csi.call_timeout_seconds).toBe(120);
    expect(load('', { root: '/srv/k' }).csi.registration_dir).toBe('/srv/k/plugins_registry');
    expect(load('[csi]\nregistration_dir = "/var/lib/kubelet/plugins_registry"\n', { root: '/srv/k' }).csi.registration_dir)
      .toBe('/var/lib/kubelet/plugins_registry');
    expect(load('[csi]\nregistration_dir = ""\n').csi.registration_dir).toBe('');
  });

  it('accepts plugins with an endpoint and an optional binary, args and env', () => {
    const c = load('[csi.plugins."hostpath.csi.k8s.io"]\nendpoint = "/run/csi/hp.sock"\nbinary = "/usr/bin/hostpathplugin"\nargs = ["--v=5"]\nenv = { NODE_ID = "n1" }\n');
    expect(c.csi.plugins['hostpath.csi.k8s.io']).toEqual({ endpoint: '/run/csi/hp.sock', binary: '/usr/bin/hostpathplugin', args: ['--v=5'], env: { NODE_ID: 'n1' } });
  });

  it('rejects a plugin without an endpoint, a relative endpoint, unknown keys and bad names, naming them', () => {
    expect(() => load('[csi.plugins.x]\nbinary = "/bin/x"\n')).toThrow(/csi\.plugins\.x.*endpoint/);
    expect(() => load('[csi.plugins.x]\nendpoint = "x.sock"\n')).toThrow(/csi\.plugins\.x\.endpoint.*absolute/);
    expect(() => load('[csi.plugins.x]\nendpoint = "/x.sock"\nrestart = true\n')).toThrow(/csi\.plugins\.x\.restart/);
    expect(() => load('[csi.plugins."bad name"]\nendpoint = "/x.sock"\n')).toThrow(/csi\.plugins/);
    expect(() => load('[csi]\ncall_timeout_seconds = 0\n')).toThrow(/csi\.call_timeout_seconds/);
    expect(() => load('[csi]\nregistration_dir = "relative"\n')).toThrow(/csi\.registration_dir/);
  });
});

import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NetworkConfigLoader, findNetworkConfig, parseNetworkConfig } from '../../../src/cni/network-config.js';

describe('CNI network config', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('reads a conflist and turns a single-plugin .conf into a list of one', () => {
    const list = parseNetworkConfig('/x/10.conflist', JSON.stringify({ cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'bridge' }, { type: 'portmap', capabilities: { portMappings: true } }] }));
    expect(list.pluginTypes).toEqual(['bridge', 'portmap']);
    const single = parseNetworkConfig('/x/10.conf', JSON.stringify({ cniVersion: '0.4.0', name: 'n', type: 'bridge', bridge: 'b0' }));
    expect(single.plugins).toEqual([{ type: 'bridge', bridge: 'b0' }]);
    expect(single.cniVersion).toBe('0.4.0');
    expect(parseNetworkConfig('/x/a.conflist', JSON.stringify({ cniVersion: '0.3.1', name: 'n', plugins: [{ type: 'ptp' }] })).cniVersion).toBe('0.3.1');
  });

  it('refuses configs that cannot be used, saying why', () => {
    expect(() => parseNetworkConfig('/x/a.conflist', '[]')).toThrow('not a JSON object');
    expect(() => parseNetworkConfig('/x/a.conflist', '{"cniVersion":"1.0.0","plugins":[{"type":"x"}]}')).toThrow('missing "name"');
    expect(() => parseNetworkConfig('/x/a.conflist', '{"cniVersion":"9.9.9","name":"n","plugins":[{"type":"x"}]}')).toThrow('not supported');
    expect(() => parseNetworkConfig('/x/a.conflist', '{"cniVersion":"1.0.0","name":"n","plugins":[]}')).toThrow('non-empty');
    expect(() => parseNetworkConfig('/x/a.conflist', '{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"../../bin/sh"}]}')).toThrow('not a plugin name');
    expect(() => parseNetworkConfig('/x/a.conflist', '{"cniVersion":"1.0.0","name":"a b","plugins":[{"type":"x"}]}')).toThrow('"name"');
  });

  it('picks the first valid file in lexical order and re-reads when the dir changes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keelson-cni-'));
    dirs.push(dir);
    await writeFile(join(dir, '05-bad.conflist'), '{');
    await writeFile(join(dir, '10-b.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'b', type: 'bridge' }));
    await writeFile(join(dir, '20-a.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'a', plugins: [{ type: 'ptp' }] }));
    await writeFile(join(dir, '00-ignored.txt'), 'x');
    const found = await findNetworkConfig(dir);
    expect(found.config?.name).toBe('b');
    expect(found.problems[0]).toContain('05-bad.conflist');

    const loader = new NetworkConfigLoader(dir);
    expect((await loader.load()).config?.name).toBe('b');
    await writeFile(join(dir, '10-b.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'b2', type: 'bridge' }));
    await utimes(join(dir, '10-b.conf'), new Date(), new Date(Date.now() + 5000));
    expect((await loader.load()).config?.name).toBe('b2');
    await rm(join(dir, '10-b.conf'));
    expect((await loader.load()).config?.name).toBe('a');
  });
});

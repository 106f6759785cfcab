import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/config/load.js';

const load = (toml: string) => resolveConfig(parseToml(toml), {}, 'test.toml');

describe('[image] settings', () => {
  it('has defaults and accepts mirrors and insecure registries', () => {
    const c = load('[image.registries."docker.io"]\nmirrors = ["127.0.0.1:5000", "https://mirror.example"]\n[image.registries."reg.local:5000"]\ninsecure = true\n');
    expect(c.image.unpack_concurrency).toBe(4);
    expect(c.image.registries['docker.io']?.mirrors).toEqual(['127.0.0.1:5000', 'https://mirror.example']);
    expect(c.image.registries['reg.local:5000']?.insecure).toBe(true);
  });

  it('rejects unknown keys and bad values, naming them', () => {
    expect(() => load('[image]\nunpack_concurency = 2\n')).toThrow(/unpack_concurency/);
    expect(() => load('[image]\nunpack_concurrency = 0\n')).toThrow(/unpack_concurrency/);
    expect(() => load('[image.registries."docker.io"]\nmirrors = ["ftp://x"]\n')).toThrow(/mirrors/);
    expect(() => load('[image.registries."docker.io"]\nfallback = true\n')).toThrow(/fallback/);
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { credentialsFromAuthConfig, credentialsFromDockerConfig, parseChallenge, TokenCache } from '../../../src/image/registry/auth.js';

const dir = mkdtempSync(join(tmpdir(), 'keelson-auth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('registry auth', () => {
  it('parses WWW-Authenticate challenges', () => {
    expect(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"')).toEqual({
      scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull' },
    });
    expect(parseChallenge('Basic realm="x"')).toEqual({ scheme: 'basic', params: { realm: 'x' } });
    expect(parseChallenge('')).toBeUndefined();
  });

  it('reads the CRI AuthConfig, including the base64 auth field', () => {
    expect(credentialsFromAuthConfig({ auth: Buffer.from('u:p:q').toString('base64') })).toEqual({ username: 'u', password: 'p:q' });
    expect(credentialsFromAuthConfig({ registry_token: 't' })).toEqual({ registryToken: 't' });
    expect(credentialsFromAuthConfig({})).toBeUndefined();
    expect(() => credentialsFromAuthConfig({ auth: Buffer.from('nocolon').toString('base64') })).toThrow(/not base64 of user:password/);
  });

  it('looks registries up in a docker config.json, Docker Hub by its legacy key', () => {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ auths: {
      'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw').toString('base64') },
      'reg.example:5000': { username: 'a', password: 'b' },
    } }));
    expect(credentialsFromDockerConfig(file, 'docker.io')).toEqual({ username: 'hub', password: 'pw' });
    expect(credentialsFromDockerConfig(file, 'reg.example:5000')).toEqual({ username: 'a', password: 'b' });
    expect(credentialsFromDockerConfig(file, 'other.example')).toBeUndefined();
    expect(credentialsFromDockerConfig(join(dir, 'missing.json'), 'docker.io')).toBeUndefined();
  });

  it('caches tokens until shortly before they expire', () => {
    vi.useFakeTimers();
    try {
      const cache = new TokenCache();
      cache.set('k', 'tok', 300);
      expect(cache.get('k')).toBe('tok');
      vi.advanceTimersByTime(289_000);
      expect(cache.get('k')).toBe('tok');
      vi.advanceTimersByTime(2_000);
      expect(cache.get('k')).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });
});

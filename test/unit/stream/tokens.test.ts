import { describe, expect, it } from 'vitest';
import { TokenCache, type StreamRequest } from '../../../src/stream/tokens.js';

const exec: StreamRequest = { kind: 'exec', containerId: 'c1', cmd: ['sh'], tty: false, stdin: true, stdout: true, stderr: true };

describe('TokenCache', () => {
  it('hands out URL-safe tokens that are consumed by their first use', () => {
    const cache = new TokenCache(60_000);
    const token = cache.insert(exec);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cache.consume(token)).toEqual(exec);
    expect(cache.consume(token)).toBeNull();
    expect(cache.consume('unknown')).toBeNull();
  });

  it('expires tokens after the TTL', () => {
    let now = 1000;
    const cache = new TokenCache(60_000, () => now);
    const token = cache.insert(exec);
    now += 60_000;
    expect(cache.consume(token)).toBeNull();
  });

  it('sweeps expired tokens and stays bounded', () => {
    let now = 0;
    const cache = new TokenCache(10, () => now);
    for (let i = 0; i < 100; i++) cache.insert(exec);
    now = 100;
    cache.insert(exec);
    expect(cache.size).toBe(1);
    const big = new TokenCache(1e9);
    for (let i = 0; i < 10_050; i++) big.insert(exec);
    expect(big.size).toBe(10_000);
  });
});

import { describe, expect, it } from 'vitest';
import { KeyedLock } from '../../src/keyed-lock.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('KeyedLock', () => {
  it('runs calls on one key one at a time, in order, and other keys alongside', async () => {
    const m = new KeyedLock();
    const events: string[] = [];
    const job = (key: string, name: string, ms: number) => m.run(key, async () => {
      events.push(`start ${name}`);
      await tick(ms);
      events.push(`end ${name}`);
    });
    await Promise.all([job('a', 'a1', 30), job('a', 'a2', 1), job('b', 'b1', 5)]);
    expect(events.indexOf('end a1')).toBeLessThan(events.indexOf('start a2'));
    expect(events.indexOf('start b1')).toBeLessThan(events.indexOf('end a1'));
  });

  it('releases the key when a call throws', async () => {
    const m = new KeyedLock();
    await expect(m.run('k', async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await m.run('k', async () => 42)).toBe(42);
  });

  it('says whether a key is held, until its last queued call ends', async () => {
    const m = new KeyedLock();
    const first = m.run('k', () => tick(10));
    const second = m.run('k', () => tick(1));
    expect(m.held('k')).toBe(true);
    await first;
    expect(m.held('k')).toBe(true);
    await second;
    expect(m.held('k')).toBe(false);
  });
});

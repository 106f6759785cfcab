import { describe, expect, it } from 'vitest';
import { compareNs, msToNs, nowNs, nsString, nsToMs } from '../../src/time.js';

describe('nanosecond timestamps', () => {
  it('are exact above 2^53', () => {
    expect(msToNs(1733126400123)).toBe('1733126400123000000');
    expect(BigInt(1733126400123 * 1e6).toString()).not.toBe('1733126400123000000'); // what a Number holds
    expect(nsToMs('1733126400123999999')).toBe(1733126400123);
  });
  it('normalise old numeric records and order strings numerically', () => {
    expect(nsString(1.7e18 + 0.4)).toBe('1700000000000000000');
    expect(nsString('0')).toBe('0');
    expect(compareNs('999', '1000')).toBe(-1);
    expect(compareNs('1000', '1000')).toBe(0);
    expect(BigInt(nowNs()) % 1_000_000n).toBe(0n);
  });
});

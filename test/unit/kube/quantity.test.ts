import { describe, expect, it } from 'vitest';
import { bytesOf, cpuMillis, parseQuantity } from '../../../src/kube/quantity.js';

describe('resource quantities', () => {
  it('reads CPU in cores and millicores', () => {
    expect(cpuMillis('500m', 'cpu')).toBe(500);
    expect(cpuMillis('1.5', 'cpu')).toBe(1500);
    expect(cpuMillis(2, 'cpu')).toBe(2000);
    expect(cpuMillis('0.1', 'cpu')).toBe(100);
  });

  it('reads binary and decimal byte suffixes and exponents', () => {
    expect(bytesOf('128Mi', 'mem')).toBe(128 * 1024 * 1024);
    expect(bytesOf('1G', 'mem')).toBe(1e9);
    expect(bytesOf('64k', 'mem')).toBe(64000);
    expect(bytesOf('2e3', 'mem')).toBe(2000);
    expect(bytesOf('1.5Gi', 'mem')).toBe(1.5 * 2 ** 30);
  });

  it('names the field of a bad or negative quantity', () => {
    expect(() => parseQuantity('12 apples', 'spec.containers[0].resources.limits.memory')).toThrow(
      /spec\.containers\[0\]\.resources\.limits\.memory: "12 apples" is not a valid quantity/,
    );
    expect(() => parseQuantity('-1Mi', 'x')).toThrow(/must not be negative/);
    expect(() => parseQuantity('1Xi', 'x')).toThrow(/not a valid quantity/);
  });
});

import { describe, expect, it } from 'vitest';

import { composeMountFlags, MOUNT_FLAGS, NativeError, type MountConstants } from '../../src/native.js';

// A fake MS_* table with one distinct bit per name, so the test needs no addon.
const names = [
  'RDONLY', 'NOSUID', 'NODEV', 'NOEXEC', 'SYNCHRONOUS', 'REMOUNT', 'MANDLOCK', 'DIRSYNC',
  'NOSYMFOLLOW', 'NOATIME', 'NODIRATIME', 'BIND', 'MOVE', 'REC', 'SILENT', 'UNBINDABLE',
  'PRIVATE', 'SLAVE', 'SHARED', 'RELATIME', 'STRICTATIME', 'LAZYTIME',
] as const;
const MS = Object.fromEntries(names.map((n, i) => [n, 2 ** i])) as unknown as MountConstants;

describe('composeMountFlags', () => {
  it('maps names to MS_* bits and ORs them', () => {
    expect(composeMountFlags([], MS)).toBe(0);
    expect(composeMountFlags(['bind'], MS)).toBe(MS.BIND);
    expect(composeMountFlags(['bind', 'ro', 'nosuid'], MS)).toBe(MS.BIND | MS.RDONLY | MS.NOSUID);
    expect(composeMountFlags(['remount', 'bind', 'ro'], MS)).toBe(MS.REMOUNT | MS.BIND | MS.RDONLY);
  });

  it('adds MS_REC for the recursive forms', () => {
    expect(composeMountFlags(['rbind'], MS)).toBe(MS.BIND | MS.REC);
    expect(composeMountFlags(['rprivate'], MS)).toBe(MS.PRIVATE | MS.REC);
    expect(composeMountFlags(['rslave'], MS)).toBe(MS.SLAVE | MS.REC);
    expect(composeMountFlags(['rshared'], MS)).toBe(MS.SHARED | MS.REC);
    expect(composeMountFlags(['runbindable'], MS)).toBe(MS.UNBINDABLE | MS.REC);
    expect(composeMountFlags(['private', 'rec'], MS)).toBe(composeMountFlags(['rprivate'], MS));
  });

  it('knows every listed flag', () => {
    for (const flag of MOUNT_FLAGS) expect(composeMountFlags([flag], MS)).toBeGreaterThan(0);
  });

  it('returns an unsigned value even with the top bit set', () => {
    const high = { ...MS, LAZYTIME: 2 ** 31 };
    expect(composeMountFlags(['lazytime'], high)).toBe(2 ** 31);
  });

  it('rejects unknown names, including inherited properties', () => {
    expect(() => composeMountFlags(['bogus' as never], MS)).toThrow(TypeError);
    expect(() => composeMountFlags(['toString' as never], MS)).toThrow(/unknown mount flag: toString/);
  });
});

describe('NativeError', () => {
  it('is an Error with the syscall fields', () => {
    const err = new NativeError({
      message: 'mount /x: EPERM (Operation not permitted)', code: 'EPERM', errno: 1, syscall: 'mount', path: '/x',
    });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('NativeError');
    expect(err).toMatchObject({ code: 'EPERM', errno: 1, syscall: 'mount', path: '/x', detail: undefined });
    expect(String(err)).toBe('NativeError: mount /x: EPERM (Operation not permitted)');
  });
});

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  lgetxattr, lsetxattr, makeWhiteout, mount, mountFilesystem, mountOverlay, NativeError, umount,
} from '../../../src/native.js';
import { errorOf } from '../../fixtures/errors.js';
import { unmountAllUnder } from '../../fixtures/sandbox.js';

interface MountEntry {
  mountPoint: string;
  options: string[];
  optional: string[];
  fstype: string;
  source: string;
  superOptions: string[];
}

// mountinfo escapes space, tab, newline and backslash as octal.
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

function mountinfo(): MountEntry[] {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n').map((line) => {
    const [left = '', right = ''] = line.split(' - ');
    const l = left.split(' ');
    const r = right.split(' ');
    return {
      mountPoint: unescape(l[4] ?? ''),
      options: (l[5] ?? '').split(','),
      optional: l.slice(6),
      fstype: r[0] ?? '',
      source: unescape(r[1] ?? ''),
      superOptions: (r[2] ?? '').split(','),
    };
  });
}

/** The topmost mount at exactly this path, if any. */
function mountAt(p: string): MountEntry | undefined {
  return mountinfo().filter((m) => m.mountPoint === p).at(-1);
}

describe.skipIf(process.getuid?.() !== 0)('native mount', () => {
  let tmp: string;

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-mount-'));
  });

  afterEach(() => {
    unmountAllUnder(tmp);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  function dir(...parts: string[]): string {
    const p = path.join(tmp, ...parts);
    fs.mkdirSync(p, { recursive: true });
    return p;
  }

  it('bind mounts a directory and remounts it read-only', async () => {
    const src = dir('src');
    const dst = dir('dst');
    fs.writeFileSync(path.join(src, 'hello'), 'world');

    await mount(src, dst, null, ['bind']);
    expect(fs.readFileSync(path.join(dst, 'hello'), 'utf8')).toBe('world');
    fs.writeFileSync(path.join(dst, 'through'), 'x');
    expect(fs.existsSync(path.join(src, 'through'))).toBe(true);

    await mount(null, dst, null, ['remount', 'bind', 'ro']);
    expect(mountAt(dst)?.options).toContain('ro');
    expect(errorOf(() => fs.writeFileSync(path.join(dst, 'nope'), 'x'))).toMatchObject({ code: 'EROFS' });
    // The source stays writable: ro is a property of the bind mount only.
    fs.writeFileSync(path.join(src, 'still'), 'x');

    await umount(dst);
    expect(mountAt(dst)).toBeUndefined();
  });

  it('applies ro and nosuid on a fresh bind in one call', async () => {
    const src = dir('src');
    const dst = dir('dst');
    await mount(src, dst, null, ['bind', 'ro', 'nosuid']);
    const m = mountAt(dst);
    expect(m?.options).toEqual(expect.arrayContaining(['ro', 'nosuid']));
    expect(errorOf(() => fs.writeFileSync(path.join(dst, 'nope'), 'x'))).toMatchObject({ code: 'EROFS' });
  });

  it('applies ro to every submount of an rbind', async () => {
    const src = dir('src');
    const sub = dir('src', 'sub');
    const dst = dir('dst');
    await mount('tmpfs', sub, 'tmpfs', [], 'size=64k');
    await mount(src, dst, null, ['rbind', 'ro']);
    expect(mountAt(dst)?.options).toContain('ro');
    expect(mountAt(path.join(dst, 'sub'))?.options).toContain('ro');
    expect(errorOf(() => fs.writeFileSync(path.join(dst, 'sub', 'f'), 'x'))).toMatchObject({ code: 'EROFS' });
    fs.writeFileSync(path.join(sub, 'f'), 'x');
  });

  it('mounts a tmpfs with size and mode', async () => {
    const dst = dir('tmpfs');
    await mount('keelson-test', dst, 'tmpfs', [], 'size=1m,mode=0700');
    const m = mountAt(dst);
    expect(m?.fstype).toBe('tmpfs');
    expect(m?.source).toBe('keelson-test');
    expect(m?.superOptions).toEqual(expect.arrayContaining(['size=1024k', 'mode=700']));
    expect(fs.statSync(dst).mode & 0o7777).toBe(0o700);

    fs.writeFileSync(path.join(dst, 'small'), Buffer.alloc(100 * 1024));
    expect(errorOf(() => fs.writeFileSync(path.join(dst, 'big'), Buffer.alloc(2 * 1024 * 1024))))
      .toMatchObject({ code: 'ENOSPC' });
  });

  it('shows nosuid, nodev and noexec in mountinfo', async () => {
    const dst = dir('flags');
    await mount('tmpfs', dst, 'tmpfs', ['nosuid', 'nodev', 'noexec', 'noatime'], 'size=64k');
    expect(mountAt(dst)?.options).toEqual(expect.arrayContaining(['rw', 'nosuid', 'nodev', 'noexec', 'noatime']));

    // An executable on a noexec mount cannot be run.
    const script = path.join(dst, 'run.sh');
    fs.writeFileSync(script, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    expect(errorOf(() => execFileSync(script, { stdio: 'ignore' }))).toMatchObject({ code: 'EACCES' });
  });

  it('sets propagation on a new mount in the same call', async () => {
    const dst = dir('shared');
    await mount('tmpfs', dst, 'tmpfs', ['shared'], 'size=64k');
    expect(mountAt(dst)?.optional.some((f) => f.startsWith('shared:'))).toBe(true);

    await mount(null, dst, null, ['private']);
    expect(mountAt(dst)?.optional.some((f) => f.startsWith('shared:'))).toBe(false);
  });

  it('moves a mount', async () => {
    const a = dir('a');
    const b = dir('b');
    await mount('tmpfs', a, 'tmpfs', [], 'size=64k');
    fs.writeFileSync(path.join(a, 'marker'), 'x');
    await mount(a, b, null, ['move']);
    expect(mountAt(a)).toBeUndefined();
    expect(fs.existsSync(path.join(b, 'marker'))).toBe(true);
  });

  describe('overlay', () => {
    it('merges two lower layers with a whiteout and an opaque dir', async () => {
      const bottom = dir('layers', '1');
      const middle = dir('layers', '2');
      const upper = dir('upper');
      const work = dir('work');
      const merged = dir('merged');

      fs.writeFileSync(path.join(bottom, 'deleted'), 'from bottom');
      fs.writeFileSync(path.join(bottom, 'kept'), 'from bottom');
      fs.mkdirSync(path.join(bottom, 'opaque'));
      fs.writeFileSync(path.join(bottom, 'opaque', 'hidden'), 'from bottom');
      fs.mkdirSync(path.join(bottom, 'plain'));
      fs.writeFileSync(path.join(bottom, 'plain', 'old'), 'from bottom');

      makeWhiteout(path.join(middle, 'deleted'));
      fs.mkdirSync(path.join(middle, 'opaque'));
      lsetxattr(path.join(middle, 'opaque'), 'trusted.overlay.opaque', 'y');
      fs.writeFileSync(path.join(middle, 'opaque', 'new'), 'from middle');
      fs.mkdirSync(path.join(middle, 'plain'));
      fs.writeFileSync(path.join(middle, 'plain', 'new'), 'from middle');

      // The leftmost lowerdir is the top layer.
      await mount('overlay', merged, 'overlay', [],
        `lowerdir=${middle}:${bottom},upperdir=${upper},workdir=${work}`);

      expect(mountAt(merged)?.fstype).toBe('overlay');
      expect(fs.readdirSync(merged).sort()).toEqual(['kept', 'opaque', 'plain']);
      expect(fs.readdirSync(path.join(merged, 'opaque'))).toEqual(['new']);
      expect(fs.readdirSync(path.join(merged, 'plain')).sort()).toEqual(['new', 'old']);

      // Writes land in upper; a delete of a lower file leaves a whiteout there.
      fs.writeFileSync(path.join(merged, 'written'), 'x');
      expect(fs.readFileSync(path.join(upper, 'written'), 'utf8')).toBe('x');
      fs.rmSync(path.join(merged, 'kept'));
      const wh = fs.lstatSync(path.join(upper, 'kept'));
      expect(wh.isCharacterDevice()).toBe(true);
      expect(wh.rdev).toBe(0);
      expect(fs.readFileSync(path.join(bottom, 'kept'), 'utf8')).toBe('from bottom');

      // rmdir + mkdir of a lower dir makes it opaque in upper.
      fs.rmSync(path.join(merged, 'plain'), { recursive: true });
      fs.mkdirSync(path.join(merged, 'plain'));
      expect(fs.readdirSync(path.join(merged, 'plain'))).toEqual([]);
      expect(lgetxattr(path.join(upper, 'plain'), 'trusted.overlay.opaque')?.toString()).toBe('y');

      await umount(merged);
      expect(mountAt(merged)).toBeUndefined();
    });

    it('mounts a read-only overlay of lower layers only', async () => {
      const a = dir('layers', 'a');
      const b = dir('layers', 'b');
      const merged = dir('merged');
      fs.writeFileSync(path.join(a, 'x'), 'a');
      fs.writeFileSync(path.join(b, 'x'), 'b');
      fs.writeFileSync(path.join(b, 'y'), 'b');
      await mount('overlay', merged, 'overlay', ['ro'], `lowerdir=${a}:${b}`);
      expect(fs.readFileSync(path.join(merged, 'x'), 'utf8')).toBe('a');
      expect(fs.readFileSync(path.join(merged, 'y'), 'utf8')).toBe('b');
      expect(errorOf(() => fs.writeFileSync(path.join(merged, 'z'), 'x'))).toMatchObject({ code: 'EROFS' });
    });
  });

  describe('mountOverlay (fsopen/fsmount)', () => {
    // Long layer paths, as under a real root dir: <root>/snapshots/<64 hex>/fs.
    function manyLayers(count: number): string[] {
      return Array.from({ length: count }, (_, i) => {
        const d = dir('snapshots', `${i.toString(16).padStart(64, '0')}`, 'fs');
        fs.writeFileSync(path.join(d, `file${i}`), String(i));
        return d;
      });
    }

    it('mounts more layers than fit in mount(2) data', async () => {
      const lower = manyLayers(80);
      const upper = dir('upper');
      const work = dir('work');
      const merged = dir('merged');
      const data = `lowerdir=${lower.join(':')},upperdir=${upper},workdir=${work}`;
      expect(data.length).toBeGreaterThan(4096);
      // mount(2) copies one page of data: the tail is lost and a cut path fails to resolve.
      await expect(mount('overlay', merged, 'overlay', [], data)).rejects.toMatchObject({ code: 'ENOENT' });
      expect(mountAt(merged)).toBeUndefined();

      await mountOverlay(merged, { lower, upper, work });
      const m = mountAt(merged);
      expect(m?.fstype).toBe('overlay');
      expect(m?.source).toBe('overlay');
      expect(fs.readdirSync(merged)).toHaveLength(80);
      expect(fs.readFileSync(path.join(merged, 'file79'), 'utf8')).toBe('79');
      fs.writeFileSync(path.join(merged, 'new'), 'x');
      expect(fs.existsSync(path.join(upper, 'new'))).toBe(true);
    });

    it('takes layer paths holding ":" and ","', async () => {
      const top = dir('layer:one,a');
      const bottom = dir('layer:two,b');
      const merged = dir('merged');
      fs.writeFileSync(path.join(top, 'x'), 'top');
      fs.writeFileSync(path.join(bottom, 'x'), 'bottom');
      fs.writeFileSync(path.join(bottom, 'y'), 'bottom');
      await mountOverlay(merged, { lower: [top, bottom] }, { flags: ['nodev', 'nosuid'] });
      expect(fs.readFileSync(path.join(merged, 'x'), 'utf8')).toBe('top');
      expect(fs.readFileSync(path.join(merged, 'y'), 'utf8')).toBe('bottom');
      expect(mountAt(merged)?.options).toEqual(expect.arrayContaining(['nodev', 'nosuid']));
      // Lower-only overlays are read-only.
      expect(errorOf(() => fs.writeFileSync(path.join(merged, 'z'), 'x'))).toMatchObject({ code: 'EROFS' });
    });

    it('reports the kernel reason for a missing layer', async () => {
      const merged = dir('merged');
      const missing = path.join(tmp, 'no-such-layer');
      const err: unknown = await mountOverlay(merged, { lower: [missing] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NativeError);
      expect(err).toMatchObject({ code: 'ENOENT', syscall: 'fsconfig', path: merged });
      // overlay logs "failed to resolve" to dmesg only, so the detail names the parameter.
      expect((err as NativeError).detail).toBe(`refused lowerdir+=${missing}`);
      expect((err as Error).message).toBe(
        `fsconfig ${merged}: ENOENT (No such file or directory): refused lowerdir+=${missing}`);
      expect(mountAt(merged)).toBeUndefined();
    });

    it('refuses upper without work before any syscall', async () => {
      const merged = dir('merged');
      await expect(mountOverlay(merged, { lower: [dir('l')], upper: dir('u') })).rejects.toThrow(TypeError);
      await expect(mountOverlay(merged, { lower: [] })).rejects.toThrow(TypeError);
    });

    it('mounts other filesystems with per-mount flags', async () => {
      const dst = dir('tmpfs');
      await mountFilesystem(dst, 'tmpfs', [['source', 'keelson-fs'], ['size', '1m'], ['mode', '0750']],
        ['nosuid', 'nodev', 'ro']);
      const m = mountAt(dst);
      expect(m?.source).toBe('keelson-fs');
      expect(m?.options).toEqual(expect.arrayContaining(['ro', 'nosuid', 'nodev']));
      expect(m?.superOptions).toEqual(expect.arrayContaining(['size=1024k', 'mode=750']));
      await expect(mountFilesystem(dst, 'tmpfs', [], ['bind' as never])).rejects.toThrow(TypeError);
      await expect(mountFilesystem(dst, 'tmpfs', [['size', 'lots']]))
        .rejects.toMatchObject({ code: 'EINVAL', syscall: 'fsconfig', detail: "tmpfs: Bad value for 'size'" });
    });
  });

  describe('umount', () => {
    it('refuses a busy mount unless detached', async () => {
      const dst = dir('busy');
      await mount('tmpfs', dst, 'tmpfs', [], 'size=64k');
      const fd = fs.openSync(path.join(dst, 'open'), 'w');
      try {
        await expect(umount(dst)).rejects.toMatchObject({ code: 'EBUSY', syscall: 'umount2', path: dst });
        await umount(dst, { detach: true });
        expect(mountAt(dst)).toBeUndefined();
        // The open file still works on the detached filesystem.
        fs.writeSync(fd, 'still writable');
      } finally {
        fs.closeSync(fd);
      }
    });

    it('rejects unmounting what is not a mount with EINVAL', async () => {
      const d = dir('plain');
      await expect(umount(d)).rejects.toMatchObject({ code: 'EINVAL', syscall: 'umount2' });
    });
  });

  describe('errors', () => {
    it('rejects a missing target with a NativeError naming the path', async () => {
      const missing = path.join(tmp, 'missing');
      const err: unknown = await mount('tmpfs', missing, 'tmpfs', []).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NativeError);
      expect(err).toMatchObject({ code: 'ENOENT', errno: os.constants.errno.ENOENT, syscall: 'mount', path: missing });
      expect((err as Error).message).toBe(`mount ${missing}: ENOENT (No such file or directory)`);
      // The async stack reaches back into this test.
      expect((err as Error).stack).toContain('mount.test.ts');
    });

    it('rejects an unknown filesystem type with ENODEV', async () => {
      const dst = dir('x');
      await expect(mount('none', dst, 'keelsonfs', [])).rejects.toMatchObject({ code: 'ENODEV' });
    });

    it('rejects bad arguments with TypeError before any syscall', async () => {
      const dst = dir('x');
      await expect(mount('tmpfs', dst, 'tmpfs', ['bogus' as never])).rejects.toThrow(TypeError);
      await expect(mount('tmpfs', `${dst}\0evil`, 'tmpfs', [])).rejects.toThrow(TypeError);
      expect(mountAt(dst)).toBeUndefined();
    });
  });
});

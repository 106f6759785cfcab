import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  lgetxattr, llistxattr, lsetxattr, makeWhiteout, mknod, NativeError,
} from '../../../src/native.js';
import { errorOf } from '../../fixtures/errors.js';

describe.skipIf(process.getuid?.() !== 0)('native mknod and xattrs', () => {
  let tmp: string;

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-fsnode-'));
  });

  afterEach(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('mknod', () => {
    it('makes an overlay whiteout: char device 0/0, mode 0', () => {
      const p = path.join(tmp, 'wh');
      makeWhiteout(p);
      const st = fs.lstatSync(p);
      expect(st.isCharacterDevice()).toBe(true);
      expect(st.rdev).toBe(0);
      expect(st.mode & 0o7777).toBe(0);
    });

    it('makes a fifo', () => {
      const p = path.join(tmp, 'fifo');
      const umask = process.umask(0o022);
      try {
        mknod(p, 'fifo', 0o640);
      } finally {
        process.umask(umask);
      }
      const st = fs.lstatSync(p);
      expect(st.isFIFO()).toBe(true);
      expect(st.mode & 0o7777).toBe(0o640);
    });

    it('makes char and block devices with major and minor', () => {
      const c = path.join(tmp, 'null');
      const b = path.join(tmp, 'loop');
      mknod(c, 'char', 0o666 & ~0o022, 1, 3);
      mknod(b, 'block', 0o600, 7, 300);
      expect(fs.lstatSync(c).isCharacterDevice()).toBe(true);
      expect(fs.lstatSync(c).rdev).toBe((1 << 8) | 3);
      // glibc's makedev: minor bits above 8 go to bits 20 and up.
      expect(fs.lstatSync(b).isBlockDevice()).toBe(true);
      expect(fs.lstatSync(b).rdev).toBe((7 << 8) | (300 & 0xff) | ((300 & ~0xff) << 12));
    });

    it('fails with EEXIST on an existing path', () => {
      const p = path.join(tmp, 'taken');
      fs.writeFileSync(p, '');
      expect(errorOf(() => makeWhiteout(p))).toMatchObject({ code: 'EEXIST', syscall: 'mknod', path: p });
    });

    it('refuses type bits in mode and unknown kinds', () => {
      expect(() => mknod(path.join(tmp, 'x'), 'char', 0o20644)).toThrow(TypeError);
      expect(() => mknod(path.join(tmp, 'x'), 'socket' as never, 0o644)).toThrow(TypeError);
      expect(fs.existsSync(path.join(tmp, 'x'))).toBe(false);
    });
  });

  describe('xattrs', () => {
    it('sets, gets and lists trusted attributes', () => {
      const p = path.join(tmp, 'dir');
      fs.mkdirSync(p);
      expect(llistxattr(p)).toEqual([]);
      lsetxattr(p, 'trusted.overlay.opaque', 'y');
      lsetxattr(p, 'trusted.keelson.bytes', Buffer.from([0, 1, 2, 255]));
      expect(lgetxattr(p, 'trusted.overlay.opaque')).toEqual(Buffer.from('y'));
      expect(lgetxattr(p, 'trusted.keelson.bytes')).toEqual(Buffer.from([0, 1, 2, 255]));
      expect(llistxattr(p).sort()).toEqual(['trusted.keelson.bytes', 'trusted.overlay.opaque']);
    });

    it('returns null for an absent attribute and an empty Buffer for an empty one', () => {
      const p = path.join(tmp, 'f');
      fs.writeFileSync(p, '');
      expect(lgetxattr(p, 'trusted.keelson.none')).toBeNull();
      lsetxattr(p, 'trusted.keelson.empty', '');
      expect(lgetxattr(p, 'trusted.keelson.empty')).toEqual(Buffer.alloc(0));
    });

    it('reads values of any size', () => {
      const p = path.join(tmp, 'f');
      fs.writeFileSync(p, '');
      const big = Buffer.alloc(3000, 'k');
      lsetxattr(p, 'trusted.keelson.big', big);
      expect(lgetxattr(p, 'trusted.keelson.big')).toEqual(big);
      // ext4 keeps all of an inode's xattrs in one 4 KiB block: list on another file.
      const q = path.join(tmp, 'g');
      fs.writeFileSync(q, '');
      const names = Array.from({ length: 30 }, (_, i) => `trusted.keelson.name-${i}-${'n'.repeat(40)}`);
      for (const name of names) lsetxattr(q, name, 'v');
      expect(llistxattr(q).sort()).toEqual([...names].sort());
    });

    it('honours create and replace', () => {
      const p = path.join(tmp, 'f');
      fs.writeFileSync(p, '');
      expect(errorOf(() => lsetxattr(p, 'trusted.keelson.a', '1', 'replace')))
        .toMatchObject({ code: 'ENODATA', syscall: 'lsetxattr' });
      lsetxattr(p, 'trusted.keelson.a', '1', 'create');
      expect(errorOf(() => lsetxattr(p, 'trusted.keelson.a', '2', 'create'))).toMatchObject({ code: 'EEXIST' });
      lsetxattr(p, 'trusted.keelson.a', '3', 'replace');
      expect(lgetxattr(p, 'trusted.keelson.a')?.toString()).toBe('3');
    });

    it('does not follow symlinks', () => {
      const target = path.join(tmp, 'target');
      const link = path.join(tmp, 'link');
      fs.writeFileSync(target, '');
      fs.symlinkSync(target, link);
      lsetxattr(target, 'trusted.keelson.on', 'target');
      expect(lgetxattr(link, 'trusted.keelson.on')).toBeNull();
      lsetxattr(link, 'trusted.keelson.on', 'link');
      expect(lgetxattr(link, 'trusted.keelson.on')?.toString()).toBe('link');
      expect(lgetxattr(target, 'trusted.keelson.on')?.toString()).toBe('target');
    });

    it('names the path and ENOENT for a missing file', () => {
      const missing = path.join(tmp, 'missing');
      for (const fn of [
        () => lgetxattr(missing, 'trusted.x'),
        () => lsetxattr(missing, 'trusted.x', 'y'),
        () => llistxattr(missing),
      ]) {
        const err = errorOf(fn);
        expect(err).toBeInstanceOf(NativeError);
        expect(err).toMatchObject({ code: 'ENOENT', errno: os.constants.errno.ENOENT, path: missing });
        expect((err as Error).message).toMatch(new RegExp(`^l(get|set|list)xattr ${missing}: ENOENT \\(No such file or directory\\)$`));
      }
    });
  });
});

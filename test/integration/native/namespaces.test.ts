import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { NativeError, pinNamespaces, umount, unpinNamespace } from '../../../src/native.js';
import { unmountAllUnder } from '../../fixtures/sandbox.js';

const KINDS = ['net', 'ipc', 'uts'] as const;

interface MountEntry {
  mountPoint: string;
  root: string;
  fstype: string;
}

function mountinfo(): MountEntry[] {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n').map((line) => {
    const [left = '', right = ''] = line.split(' - ');
    const l = left.split(' ');
    const unescape = (f: string): string =>
      f.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
    return { root: unescape(l[3] ?? ''), mountPoint: unescape(l[4] ?? ''), fstype: right.split(' ')[0] ?? '' };
  });
}

function mountsUnder(dir: string): MountEntry[] {
  return mountinfo().filter((m) => m.mountPoint === dir || m.mountPoint.startsWith(dir + '/'));
}

/** The namespaces of every thread of this process, e.g. "12345 net:[4026531840]". */
function threadNamespaces(): string[] {
  return fs.readdirSync('/proc/self/task').flatMap((tid) =>
    KINDS.map((kind) => {
      try {
        return `${tid} ${fs.readlinkSync(`/proc/self/task/${tid}/ns/${kind}`)}`;
      } catch {
        return `${tid} exited`;
      }
    }));
}

function ownNamespaces(): Record<(typeof KINDS)[number], string> {
  return {
    net: fs.readlinkSync('/proc/self/ns/net'),
    ipc: fs.readlinkSync('/proc/self/ns/ipc'),
    uts: fs.readlinkSync('/proc/self/ns/uts'),
  };
}

describe.skipIf(process.getuid?.() !== 0)('native namespace pinning', () => {
  let tmp: string;

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-ns-'));
  });

  afterEach(() => {
    unmountAllUnder(tmp);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  function targets(dir = tmp): { net: string; ipc: string; uts: string } {
    return { net: path.join(dir, 'net'), ipc: path.join(dir, 'ipc'), uts: path.join(dir, 'uts') };
  }

  it('pins new net, ipc and uts namespaces without moving any thread of Node', async () => {
    const before = ownNamespaces();
    const threadsBefore = threadNamespaces().filter((l) => !l.endsWith('exited'));
    const hostBefore = os.hostname();
    const t = targets();

    await pinNamespaces(t, { hostname: 'pod-sandbox-1' });

    for (const kind of KINDS) {
      const entry = mountinfo().find((m) => m.mountPoint === t[kind]);
      expect(entry?.fstype).toBe('nsfs');
      expect(entry?.root).toMatch(new RegExp(`^${kind}:\\[\\d+\\]$`));
      // A new namespace: not the one this process lives in.
      expect(fs.statSync(t[kind]).ino).not.toBe(fs.statSync(`/proc/self/ns/${kind}`).ino);
      expect(entry?.root).not.toBe(before[kind]);
    }
    expect(ownNamespaces()).toEqual(before);
    // No thread (main, libuv pool, V8) moved into the new namespaces.
    const threadsAfter = new Set(threadNamespaces());
    for (const line of threadsBefore) expect(threadsAfter.has(line)).toBe(true);
    for (const line of threadsAfter) {
      if (line.endsWith('exited')) continue;
      const ns = line.split(' ')[1] ?? '';
      expect(Object.values(before)).toContain(ns);
    }
    expect(os.hostname()).toBe(hostBefore);

    const links = execFileSync('nsenter', [`--net=${t.net}`, 'ip', '-o', 'link'], { encoding: 'utf8' })
      .trim().split('\n').map((l) => l.split(':')[1]?.trim());
    expect(links).toEqual(['lo']);
    const hostname = execFileSync('nsenter', [`--uts=${t.uts}`, 'hostname'], { encoding: 'utf8' }).trim();
    expect(hostname).toBe('pod-sandbox-1');
    // The IPC namespace is empty: no SysV queues, semaphores or segments.
    const ipcs = execFileSync('nsenter', [`--ipc=${t.ipc}`, 'ipcs', '-a'], { encoding: 'utf8' });
    expect(ipcs).not.toMatch(/^0x[0-9a-f]+\s/m);

    for (const kind of KINDS) {
      await unpinNamespace(t[kind]);
      expect(fs.existsSync(t[kind])).toBe(false);
    }
    expect(mountsUnder(tmp)).toEqual([]);
    for (const kind of KINDS) await unpinNamespace(t[kind]);
  });

  it('pins only what is asked, on a 0444 file', async () => {
    const net = path.join(tmp, 'net');
    await pinNamespaces({ net });
    expect(mountsUnder(tmp).map((m) => m.fstype)).toEqual(['nsfs']);
    await umount(net);
    const st = fs.statSync(net);
    expect(st.isFile()).toBe(true);
    expect(st.size).toBe(0);
    expect(st.mode & 0o7777).toBe(0o444);
    // unpin of a file that is no longer a mount still removes it.
    await unpinNamespace(net);
    expect(fs.existsSync(net)).toBe(false);
  });

  it('pins many pods at once, each in its own namespaces', async () => {
    const dirs = Array.from({ length: 8 }, (_, i) => path.join(tmp, `pod${i}`));
    for (const d of dirs) fs.mkdirSync(d);
    await Promise.all(dirs.map((d, i) => pinNamespaces(targets(d), { hostname: `pod-${i}` })));
    const inodes = new Set(dirs.map((d) => fs.statSync(path.join(d, 'net')).ino));
    expect(inodes.size).toBe(8);
    const names = dirs.map((d) =>
      execFileSync('nsenter', [`--uts=${path.join(d, 'uts')}`, 'hostname'], { encoding: 'utf8' }).trim());
    expect(names).toEqual(dirs.map((_, i) => `pod-${i}`));
    await Promise.all(dirs.flatMap((d) => KINDS.map((k) => unpinNamespace(path.join(d, k)))));
    expect(mountsUnder(tmp)).toEqual([]);
  });

  it('reuses an existing empty file and unpins stacked pins', async () => {
    const net = path.join(tmp, 'net');
    fs.writeFileSync(net, '');
    await pinNamespaces({ net });
    await pinNamespaces({ net });
    expect(mountsUnder(tmp)).toHaveLength(2);
    await unpinNamespace(net);
    expect(mountsUnder(tmp)).toEqual([]);
    expect(fs.existsSync(net)).toBe(false);
  });

  it('leaves nothing behind when a target cannot be created', async () => {
    const t = { net: path.join(tmp, 'net'), ipc: path.join(tmp, 'ipc'), uts: path.join(tmp, 'missing', 'uts') };
    const err: unknown = await pinNamespaces(t, { hostname: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NativeError);
    expect(err).toMatchObject({ code: 'ENOENT', syscall: 'open', path: t.uts });
    expect((err as Error).message).toBe(`open ${t.uts}: ENOENT (No such file or directory)`);
    expect(fs.readdirSync(tmp)).toEqual([]);
    expect(mountsUnder(tmp)).toEqual([]);
  });

  it('leaves nothing behind when it fails after unshare', async () => {
    const t = targets();
    // Longer than HOST_NAME_MAX (64): sethostname fails inside the new namespace.
    const err: unknown = await pinNamespaces(t, { hostname: 'h'.repeat(65) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EINVAL', syscall: 'sethostname' });
    expect(fs.readdirSync(tmp)).toEqual([]);
    expect(mountsUnder(tmp)).toEqual([]);
  });

  it('refuses a target that is not a regular file', async () => {
    const net = path.join(tmp, 'net');
    fs.mkdirSync(net);
    await expect(pinNamespaces({ net })).rejects.toMatchObject({ code: 'EEXIST', path: net });
    expect(fs.statSync(net).isDirectory()).toBe(true);
    expect(mountsUnder(tmp)).toEqual([]);
  });

  it('refuses a hostname without a uts namespace, and an empty request', async () => {
    await expect(pinNamespaces({ net: path.join(tmp, 'net') }, { hostname: 'x' })).rejects.toThrow(TypeError);
    await expect(pinNamespaces({})).rejects.toThrow(TypeError);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  it('unpins a missing path as a no-op', async () => {
    await unpinNamespace(path.join(tmp, 'never-pinned'));
  });
});

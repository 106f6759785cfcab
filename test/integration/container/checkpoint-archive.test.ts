// The checkpoint archive writer on a real overlay-style upper dir (root: a whiteout is a
// char device 0/0): the rootfs diff holds what the container wrote, deleted.files what it
// removed, and neither holds the container's mount points.
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeArchive, writeRootfsDiff } from '../../../src/container/checkpoint-archive.js';

async function listTar(path: string): Promise<Array<{ name: string; type: string; body: string; linkname: string | null | undefined }>> {
  const entries: Array<{ name: string; type: string; body: string; linkname: string | null | undefined }> = [];
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      entries.push({ name: header.name, type: header.type ?? 'file', body: Buffer.concat(chunks).toString(), linkname: header.linkname });
      next();
    });
  });
  await new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
    createReadStream(path).pipe(extract);
  });
  return entries;
}

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'keelson-ckpt-archive-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

describe('checkpoint archive', () => {
  it('writes the upper dir as rootfs-diff.tar and its whiteouts as deleted paths, leaving out mount points', async () => {
    const upper = join(dir, 'upper');
    await mkdir(join(upper, 'etc'), { recursive: true });
    await writeFile(join(upper, 'etc', 'motd'), 'changed\n');
    await symlink('motd', join(upper, 'etc', 'motd.link'));
    execFileSync('mknod', [join(upper, 'etc', 'removed.conf'), 'c', '0', '0']);
    await mkdir(join(upper, 'proc'));
    await writeFile(join(upper, 'proc', 'junk'), 'x');
    await mkdir(join(upper, 'etc', 'hosts-dir'));
    await writeFile(join(upper, 'etc', 'resolv.conf'), 'bind mounted\n');

    const tarPath = join(dir, 'rootfs-diff.tar');
    const deleted = await writeRootfsDiff(upper, tarPath, new Set(['/etc/resolv.conf']));
    expect(deleted).toEqual(['/etc/removed.conf']);
    expect((await stat(tarPath)).mode & 0o777).toBe(0o600);
    const entries = await listTar(tarPath);
    expect(entries.map((e) => e.name)).toEqual(['etc', 'etc/hosts-dir', 'etc/motd', 'etc/motd.link']);
    expect(entries.find((e) => e.name === 'etc/motd')?.body).toBe('changed\n');
    expect(entries.find((e) => e.name === 'etc/motd.link')).toMatchObject({ type: 'symlink', linkname: 'motd' });
  });

  it('packs only the named entries of a checkpoint dir, trees included', async () => {
    await mkdir(join(dir, 'checkpoint'));
    await writeFile(join(dir, 'checkpoint', 'pages-1.img'), 'pages');
    await writeFile(join(dir, 'config.dump'), '{}');
    await writeFile(join(dir, 'not-listed'), 'x');
    const tarPath = join(dir, 'out.tar');
    await writeArchive(dir, ['checkpoint', 'config.dump'], tarPath);
    const entries = await listTar(tarPath);
    expect(entries.map((e) => [e.name, e.type])).toEqual([['checkpoint', 'directory'], ['checkpoint/pages-1.img', 'file'], ['config.dump', 'file']]);
  });

  it('never overwrites an existing archive path', async () => {
    const tarPath = join(dir, 'exists.tar');
    await writeFile(tarPath, 'keep');
    await expect(writeArchive(dir, [], tarPath)).rejects.toThrow(/EEXIST/);
  });
});

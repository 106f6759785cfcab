// The tar breakout matrix (containerd's TestBreakouts names) through PullImage: each hostile
// layer is either refused with an error naming the entry, or unpacked harmlessly; in every
// case nothing outside the layer dir changes and a refused pull leaves nothing behind.
import { chmodSync, lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lgetxattr } from '../../../src/native.js';
import { startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { buildImage, buildLayer, type LayerEntry } from '../../fixtures/image-builder.js';
import { startRegistry, type Registry } from '../../fixtures/registry.js';
import { listTree } from '../../fixtures/tree.js';

let registry: Registry;
let daemon: KeelsonDaemon;
let victim: string;
const suffix = randomBytes(3).toString('hex');
const up = '../'.repeat(24);

beforeAll(async () => {
  victim = await mkdtemp(join(tmpdir(), 'keelson-victim-'));
  writeFileSync(join(victim, 'victim'), 'safe\n');
  chmodSync(join(victim, 'victim'), 0o644);
  registry = await startRegistry();
  daemon = await startKeelson({
    configToml: '[image]\nmax_layer_entries = 100\nmax_layer_bytes = 4194304\nmax_compression_ratio = 100\n',
  });
});

afterAll(async () => {
  await daemon?.destroy();
  await registry?.stop();
  if (victim) await rm(victim, { recursive: true, force: true });
});

type Case = [name: string, entries: () => LayerEntry[], outcome: 'refused' | 'ok', check?: (fs: string) => void];

const V = (): string => victim;
const rel = (): string => `${up}${victim.slice(1)}`;

const cases: Case[] = [
  ['SymlinkAbsolute', () => [{ type: 'symlink', path: 'dir', target: V() }, { type: 'file', path: 'dir/new', content: 'x' }], 'refused'],
  ['SymlinkUpAndOut', () => [{ type: 'symlink', path: 'dir', target: rel() }, { type: 'file', path: 'dir/new', content: 'x' }], 'refused'],
  ['SymlinkMultipleAbsolute', () => [
    { type: 'symlink', path: 'dir1', target: V() }, { type: 'symlink', path: 'dir2', target: '/dir1' }, { type: 'file', path: 'dir2/new', content: 'x' }], 'refused'],
  ['SymlinkMultipleRelative', () => [
    { type: 'symlink', path: 'dir1', target: rel() }, { type: 'symlink', path: 'dir2', target: 'dir1' }, { type: 'file', path: 'dir2/new', content: 'x' }], 'refused'],
  ['SymlinkEmptyFile', () => [{ type: 'symlink', path: 'foo', target: `${V()}/victim` }, { type: 'file', path: 'foo', content: '' }], 'ok',
    (fs) => expect(lstatSync(join(fs, 'foo')).isFile()).toBe(true)],
  ['HardlinkRelative', () => [{ type: 'hardlink', path: 'link', target: `${rel()}/victim` }], 'refused'],
  ['HardlinkDownAndOut', () => [{ type: 'dir', path: 'dir/' }, { type: 'hardlink', path: 'dir/link', target: `dir/${rel()}/victim` }], 'refused'],
  ['HardlinkAbsolute', () => [{ type: 'hardlink', path: 'link', target: `${V()}/victim` }], 'refused'],
  ['HardlinkRelativeLong', () => [{ type: 'hardlink', path: 'link', target: `${up}${up}${victim.slice(1)}/victim` }], 'refused'],
  ['HardlinkRelativeUpAndOut', () => [{ type: 'dir', path: 'dir/' }, { type: 'hardlink', path: 'dir/link', target: `../${rel()}/victim` }], 'refused'],
  ['HardlinkDirectRelative', () => [{ type: 'hardlink', path: 'link', target: '../../../../../etc/passwd' }], 'refused'],
  ['HardlinkDirectAbsolute', () => [{ type: 'hardlink', path: 'link', target: '/etc/passwd' }], 'refused'],
  ['SymlinkParentDirectory', () => [{ type: 'symlink', path: 'link', target: '../' }, { type: 'file', path: 'link/new', content: 'x' }], 'refused'],
  ['SymlinkEmptyFilename', () => [{ type: 'symlink', path: '', target: V() }], 'refused'],
  ['SymlinkParentRelative', () => [{ type: 'symlink', path: 'link', target: '../../..' }, { type: 'file', path: 'link/new', content: 'x' }], 'refused'],
  ['SymlinkSlashEnded', () => [{ type: 'symlink', path: 'dir/', target: V() }, { type: 'file', path: 'dir/new', content: 'x' }], 'refused'],
  ['SymlinkOverrideDirectory', () => [
    { type: 'dir', path: 'dir/' }, { type: 'symlink', path: 'dir', target: V() }, { type: 'file', path: 'dir/new', content: 'x' }], 'refused'],
  ['SymlinkOverrideDirectoryRelative', () => [
    { type: 'dir', path: 'dir/' }, { type: 'symlink', path: 'dir', target: rel() }, { type: 'file', path: 'dir/new', content: 'x' }], 'refused'],
  ['DirectoryOverrideSymlink', () => [
    { type: 'symlink', path: 'dir', target: V() }, { type: 'dir', path: 'dir/' }, { type: 'file', path: 'dir/new', content: 'x' }], 'ok',
    (fs) => expect(readFileSync(join(fs, 'dir/new'), 'utf8')).toBe('x')],
  ['DirectoryOverrideSymlinkAndHardlink', () => [
    { type: 'symlink', path: 'dir', target: V() }, { type: 'dir', path: 'dir/' }, { type: 'file', path: 'dir/file', content: 'x' },
    { type: 'hardlink', path: 'dir/link', target: 'dir/file' }], 'ok',
    (fs) => expect(lstatSync(join(fs, 'dir/link')).ino).toBe(lstatSync(join(fs, 'dir/file')).ino)],
  ['WhiteoutRootParent', () => [{ type: 'file', path: `${up}.wh.victim`, content: '' }], 'refused'],
  ['WhiteoutParent', () => [{ type: 'dir', path: 'dir/' }, { type: 'file', path: 'dir/.wh...', content: '' }], 'refused'],
  ['WhiteoutRoot', () => [{ type: 'file', path: '.wh..', content: '' }], 'refused'],
  ['WhiteoutCurrentDirectory', () => [{ type: 'dir', path: 'dir/' }, { type: 'file', path: 'dir/.wh..', content: '' }], 'refused'],
  ['WhiteoutSymlink', () => [{ type: 'symlink', path: 'link', target: V() }, { type: 'whiteout', path: 'link/victim' }], 'refused'],
  ['WhiteoutSymlinkPath', () => [{ type: 'symlink', path: 'link', target: V() }, { type: 'whiteout', path: 'link' }], 'ok',
    (fs) => expect(lstatSync(join(fs, 'link')).isCharacterDevice()).toBe(true)],
  ['WhiteoutDirectoryName', () => [{ type: 'dir', path: '.wh.dir/' }], 'ok',
    (fs) => expect(lstatSync(join(fs, 'dir')).isCharacterDevice()).toBe(true)],
  ['WhiteoutDeadSymlinkParent', () => [{ type: 'symlink', path: 'dead', target: '/nonexistent/path' }, { type: 'whiteout', path: 'dead/x' }], 'refused'],
  ['WhiteoutRelativePath', () => [{ type: 'dir', path: 'dir/' }, { type: 'file', path: `dir/../${up}.wh.victim`, content: '' }], 'refused'],
  ['SymlinkOverridePath', () => [{ type: 'symlink', path: 'victim-link', target: `${V()}/victim` }, { type: 'file', path: 'victim-link', content: 'evil' }], 'ok',
    (fs) => expect(readFileSync(join(fs, 'victim-link'), 'utf8')).toBe('evil')],
  ['HardlinkSymlinkBeforeCreateTarget', () => [{ type: 'symlink', path: 'link', target: `${V()}/new-target` }, { type: 'hardlink', path: 'hl', target: 'link' }], 'ok',
    (fs) => expect(lstatSync(join(fs, 'hl')).isSymbolicLink()).toBe(true)],
  ['HardlinkSymlinkRelative', () => [{ type: 'symlink', path: 'link', target: `${rel()}/victim` }, { type: 'hardlink', path: 'hl', target: 'link' }], 'ok'],
  ['HardlinkSymlinkAbsolute', () => [{ type: 'symlink', path: 'link', target: `${V()}/victim` }, { type: 'hardlink', path: 'hl', target: 'link' }], 'ok'],
  ['HardlinkSymlinkChmod', () => [{ type: 'symlink', path: 'link', target: `${V()}/victim` }, { type: 'hardlink', path: 'hl', target: 'link', mode: 0o777 }], 'ok'],
  ['AbsoluteName', () => [{ type: 'file', path: `${V()}/victim`, content: 'evil' }], 'refused'],
  ['DotDotName', () => [{ type: 'file', path: `${rel()}/victim`, content: 'evil' }], 'refused'],
  ['Xattrs', () => [{ type: 'file', path: 'x', content: 'x', pax: { 'SCHILY.xattr.user.keelson': 'yes' } }], 'ok',
    (fs) => expect(lgetxattr(join(fs, 'x'), 'user.keelson')?.toString()).toBe('yes')],
  ['TooManyEntries', () => Array.from({ length: 150 }, (_, i): LayerEntry => ({ type: 'file', path: `f${i}`, content: '' })), 'refused'],
  ['TooManyBytes', () => [{ type: 'file', path: 'big', content: randomBytes(5 * 1024 * 1024) }], 'refused'],
  ['CompressionBomb', () => [{ type: 'file', path: 'zeros', content: Buffer.alloc(3 * 1024 * 1024) }], 'refused'],
];

async function victimState(): Promise<unknown> {
  const st = lstatSync(join(victim, 'victim'));
  return { tree: await listTree(victim), content: readFileSync(join(victim, 'victim'), 'utf8'), mode: st.mode, uid: st.uid, mtime: st.mtimeMs };
}

async function storeState(): Promise<unknown> {
  return { content: await listTree(join(daemon.root, 'content')), snapshots: await listTree(join(daemon.root, 'snapshots')) };
}

describe('hostile layer archives', () => {
  it.each(cases)('%s', async (name, entries, outcome, check) => {
    const layer = await buildLayer(entries());
    const image = await buildImage({ base: false, layers: [layer] });
    const repo = `hostile/${name.toLowerCase()}-${suffix}`;
    await registry.push(repo, image, 'latest');
    const beforeVictim = await victimState();
    const beforeStore = await storeState();
    const pull = daemon.client.image.call('PullImage', { image: { image: `${registry.host}/${repo}` } });
    if (outcome === 'refused') {
      await expect(pull).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
      const err = (await pull.catch((e: unknown) => e)) as { details: string };
      if (!/^Too|Compression/.test(name)) expect(err.details).toMatch(/refusing tar entry "/);
      expect(await storeState()).toEqual(beforeStore);
    } else {
      const res = await pull;
      expect(res.image_ref).toBe(image.config.digest);
      const fs = join(daemon.root, 'snapshots', layer.diffId.slice(7), 'fs');
      check?.(fs);
      await daemon.client.image.call('RemoveImage', { image: { image: res.image_ref ?? '' } });
    }
    expect(await victimState()).toEqual(beforeVictim);
  });
});

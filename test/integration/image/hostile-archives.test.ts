// The tar breakout matrix (containerd's TestBreakouts names) through PullImage: each hostile
// layer is either refused with an error naming the entry, or unpacked harmlessly with every
// name, symlinked parent and hard-link target resolved inside the layer dir as if it were
// `/` (the check says where the entry landed); in every case nothing outside the layer dir
// changes and a refused pull leaves nothing behind.
import { chmodSync, existsSync, lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lgetxattr } from '../../../src/native.js';
import { startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { buildImage, buildLayer, type LayerEntry } from '../../fixtures/image-builder.js';
import { startRegistry, type Registry } from '../../fixtures/registry.js';
import { listImageStore, listTree } from '../../fixtures/tree.js';

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
/** Where the victim dir's path lands inside the layer when resolved there. */
const insideV = (fs: string, ...p: string[]): string => join(fs, victim.slice(1), ...p);
const landed = (path: string, content = 'x') => (fs: string): void => expect(readFileSync(join(fs, path), 'utf8')).toBe(content);
const landedInV = (name = 'new', content = 'x') => (fs: string): void => expect(readFileSync(insideV(fs, name), 'utf8')).toBe(content);
const whiteoutAt = (path: (fs: string) => string) => (fs: string): void => {
  const st = lstatSync(path(fs));
  expect(st.isCharacterDevice() && st.rdev === 0).toBe(true);
};

const cases: Case[] = [
  ['SymlinkAbsolute', () => [{ type: 'symlink', path: 'dir', target: V() }, { type: 'file', path: 'dir/new', content: 'x' }], 'ok', landedInV()],
  ['SymlinkUpAndOut', () => [{ type: 'symlink', path: 'dir', target: rel() }, { type: 'file', path: 'dir/new', content: 'x' }], 'ok', landedInV()],
  ['SymlinkMultipleAbsolute', () => [
    { type: 'symlink', path: 'dir1', target: V() }, { type: 'symlink', path: 'dir2', target: '/dir1' }, { type: 'file', path: 'dir2/new', content: 'x' }], 'ok', landedInV()],
  ['SymlinkMultipleRelative', () => [
    { type: 'symlink', path: 'dir1', target: rel() }, { type: 'symlink', path: 'dir2', target: 'dir1' }, { type: 'file', path: 'dir2/new', content: 'x' }], 'ok', landedInV()],
  ['SymlinkEmptyFile', () => [{ type: 'symlink', path: 'foo', target: `${V()}/victim` }, { type: 'file', path: 'foo', content: '' }], 'ok',
    (fs) => expect(lstatSync(join(fs, 'foo')).isFile()).toBe(true)],
  ['HardlinkRelative', () => [{ type: 'hardlink', path: 'link', target: `${rel()}/victim` }], 'refused'],
  ['HardlinkDownAndOut', () => [{ type: 'dir', path: 'dir/' }, { type: 'hardlink', path: 'dir/link', target: `dir/${rel()}/victim` }], 'refused'],
  ['HardlinkAbsolute', () => [{ type: 'hardlink', path: 'link', target: `${V()}/victim` }], 'refused'],
  ['HardlinkRelativeLong', () => [{ type: 'hardlink', path: 'link', target: `${up}${up}${victim.slice(1)}/victim` }], 'refused'],
  ['HardlinkRelativeUpAndOut', () => [{ type: 'dir', path: 'dir/' }, { type: 'hardlink', path: 'dir/link', target: `../${rel()}/victim` }], 'refused'],
  ['HardlinkDirectRelative', () => [{ type: 'hardlink', path: 'link', target: '../../../../../etc/passwd' }], 'refused'],
  ['HardlinkDirectAbsolute', () => [{ type: 'hardlink', path: 'link', target: '/etc/passwd' }], 'refused'],
  ['SymlinkParentDirectory', () => [{ type: 'symlink', path: 'link', target: '../' }, { type: 'file', path: 'link/new', content: 'x' }], 'ok', landed('new')],
  // A non-directory naming the root is skipped, as containerd skips it.
  ['SymlinkEmptyFilename', () => [{ type: 'symlink', path: '', target: V() }], 'ok', (fs) => expect(lstatSync(fs).isDirectory()).toBe(true)],
  ['SymlinkParentRelative', () => [{ type: 'symlink', path: 'link', target: '../../..' }, { type: 'file', path: 'link/new', content: 'x' }], 'ok', landed('new')],
  ['SymlinkSlashEnded', () => [{ type: 'symlink', path: 'dir/', target: V() }, { type: 'file', path: 'dir/new', content: 'x' }], 'ok', landedInV()],
  ['SymlinkOverrideDirectory', () => [
    { type: 'dir', path: 'dir/' }, { type: 'symlink', path: 'dir', target: V() }, { type: 'file', path: 'dir/new', content: 'x' }], 'ok', landedInV()],
  ['SymlinkOverrideDirectoryRelative', () => [
    { type: 'dir', path: 'dir/' }, { type: 'symlink', path: 'dir', target: rel() }, { type: 'file', path: 'dir/new', content: 'x' }], 'ok', landedInV()],
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
  ['WhiteoutSymlink', () => [{ type: 'symlink', path: 'link', target: V() }, { type: 'whiteout', path: 'link/victim' }], 'ok',
    whiteoutAt((fs) => insideV(fs, 'victim'))],
  ['WhiteoutSymlinkPath', () => [{ type: 'symlink', path: 'link', target: V() }, { type: 'whiteout', path: 'link' }], 'ok',
    (fs) => expect(lstatSync(join(fs, 'link')).isCharacterDevice()).toBe(true)],
  ['WhiteoutDirectoryName', () => [{ type: 'dir', path: '.wh.dir/' }], 'ok',
    (fs) => expect(lstatSync(join(fs, 'dir')).isCharacterDevice()).toBe(true)],
  ['WhiteoutDeadSymlinkParent', () => [{ type: 'symlink', path: 'dead', target: '/nonexistent/path' }, { type: 'whiteout', path: 'dead/x' }], 'ok',
    whiteoutAt((fs) => join(fs, 'nonexistent/path/x'))],
  ['WhiteoutRelativePath', () => [{ type: 'dir', path: 'dir/' }, { type: 'file', path: `dir/../${up}.wh.victim`, content: '' }], 'refused'],
  ['SymlinkOverridePath', () => [{ type: 'symlink', path: 'victim-link', target: `${V()}/victim` }, { type: 'file', path: 'victim-link', content: 'evil' }], 'ok',
    (fs) => expect(readFileSync(join(fs, 'victim-link'), 'utf8')).toBe('evil')],
  ['HardlinkSymlinkBeforeCreateTarget', () => [{ type: 'symlink', path: 'link', target: `${V()}/new-target` }, { type: 'hardlink', path: 'hl', target: 'link' }], 'ok',
    (fs) => expect(lstatSync(join(fs, 'hl')).isSymbolicLink()).toBe(true)],
  ['HardlinkSymlinkRelative', () => [{ type: 'symlink', path: 'link', target: `${rel()}/victim` }, { type: 'hardlink', path: 'hl', target: 'link' }], 'ok'],
  ['HardlinkSymlinkAbsolute', () => [{ type: 'symlink', path: 'link', target: `${V()}/victim` }, { type: 'hardlink', path: 'hl', target: 'link' }], 'ok'],
  ['HardlinkSymlinkChmod', () => [{ type: 'symlink', path: 'link', target: `${V()}/victim` }, { type: 'hardlink', path: 'hl', target: 'link', mode: 0o777 }], 'ok'],
  ['AbsoluteName', () => [{ type: 'file', path: `${V()}/victim`, content: 'evil' }], 'ok', landedInV('victim', 'evil')],
  // Stricter than containerd, which clamps such a name to the root: a name that climbs
  // above the root is never written by a real tool, and Docker refuses it too.
  ['DotDotName', () => [{ type: 'file', path: `${rel()}/victim`, content: 'evil' }], 'refused'],
  // The rules relaxed for real tools' archives, each still kept inside the root:
  ['RootEntrySlash', () => [{ type: 'dir', path: '/', mode: 0o755 }, { type: 'dir', path: '/etc/' }, { type: 'file', path: '/etc/a', content: 'x' }], 'ok',
    landed('etc/a')],
  ['DotDotInsideRoot', () => [{ type: 'dir', path: 'a/' }, { type: 'file', path: 'a/../b', content: 'x' }], 'ok', landed('b')],
  ['HardlinkAbsoluteInsideLayer', () => [{ type: 'file', path: 'etc/a', content: 'x' }, { type: 'hardlink', path: 'h', target: '/etc/a' }], 'ok',
    (fs) => expect(lstatSync(join(fs, 'h')).ino).toBe(lstatSync(join(fs, 'etc/a')).ino)],
  ['HardlinkThroughSymlinkParent', () => [
    { type: 'file', path: 'etc/passwd', content: 'x' }, { type: 'symlink', path: 'evil', target: '/etc' }, { type: 'hardlink', path: 'h', target: 'evil/passwd' }], 'ok',
    (fs) => expect(lstatSync(join(fs, 'h')).ino).toBe(lstatSync(join(fs, 'etc/passwd')).ino)],
  ['HardlinkThroughEscapingSymlink', () => [{ type: 'symlink', path: 'out', target: V() }, { type: 'hardlink', path: 'h', target: 'out/victim' }], 'refused'],
  ['SymlinkClimbInsideDir', () => [{ type: 'dir', path: 'sub/' }, { type: 'symlink', path: 'sub/up', target: up }, { type: 'file', path: 'sub/up/new', content: 'x' }], 'ok',
    landed('new')],
  ['SymlinkLoop', () => [{ type: 'symlink', path: 'a', target: 'b' }, { type: 'symlink', path: 'b', target: 'a' }, { type: 'file', path: 'a/x', content: 'x' }], 'refused'],
  ['ParentIsAFile', () => [{ type: 'file', path: 'f', content: 'x' }, { type: 'file', path: 'f/x', content: 'x' }], 'refused'],
  ['AbsoluteSymlinkNeverFollowedOnTheHost', () => [{ type: 'symlink', path: 'etc', target: V() }, { type: 'file', path: 'etc/victim', content: 'evil' }], 'ok',
    (fs) => expect(existsSync(insideV(fs, 'victim'))).toBe(true)],
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
  return listImageStore(daemon.root);
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

describe('hostile symlinks in a layer below', () => {
  // A missing parent is resolved through the layers below (merged /usr), still inside the root.
  it.each([
    ['absolute', (): string => V()],
    ['up and out', (): string => rel()],
  ])('a later layer writing under a lower symlink pointing %s lands inside its own layer dir', async (_label, target) => {
    const base = await buildLayer([{ type: 'symlink', path: 'lib', target: target() }]);
    const top = await buildLayer([{ type: 'file', path: 'lib/new', content: 'x' }]);
    const image = await buildImage({ base: false, layers: [base, top] });
    const repo = `hostile/lower-symlink-${randomBytes(3).toString('hex')}`;
    await registry.push(repo, image, 'latest');
    const beforeVictim = await victimState();
    const res = await daemon.client.image.call('PullImage', { image: { image: `${registry.host}/${repo}` } });
    // The OCI chain id of the second layer: sha256 of "<chain id below> <diff id>".
    const topChain = createHash('sha256').update(`${base.diffId} ${top.diffId}`).digest('hex');
    const topFs = join(daemon.root, 'snapshots', topChain, 'fs');
    expect(readFileSync(insideV(topFs, 'new'), 'utf8')).toBe('x');
    expect(lstatSync(join(daemon.root, 'snapshots', base.diffId.slice(7), 'fs', 'lib')).isSymbolicLink()).toBe(true);
    expect(await victimState()).toEqual(beforeVictim);
    await daemon.client.image.call('RemoveImage', { image: { image: res.image_ref ?? '' } });
  });
});

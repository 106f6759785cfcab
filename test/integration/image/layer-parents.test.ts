// Parents a layer lacks: a later layer whose entries need directories it has no entries for
// takes them from the layers below (owner, mode and times of an implicit `tmp` stay those of
// the base's 1777 /tmp), and follows a symlink the layers below have there (merged /usr),
// whatever order the layers finish unpacking in.
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { buildImage, buildLayer, type LayerBlob } from '../../fixtures/image-builder.js';
import { startRegistry, type Registry } from '../../fixtures/registry.js';

let registry: Registry;
const daemons: KeelsonDaemon[] = [];

beforeAll(async () => {
  registry = await startRegistry();
});

afterAll(async () => {
  for (const d of daemons) await d.destroy();
  await registry?.stop();
});

function chainIds(layers: LayerBlob[]): string[] {
  const out: string[] = [];
  for (const l of layers) {
    const below = out[out.length - 1];
    out.push(below === undefined ? l.diffId : `sha256:${createHash('sha256').update(`${below} ${l.diffId}`).digest('hex')}`);
  }
  return out;
}

interface Seen { tmpMode: number; usrLibMode: number; usrLibX: string; baseLibLink: string; topHasLib: boolean; topTmpX: string }

async function pullAndLook(unpackConcurrency: number, layers: LayerBlob[], repo: string): Promise<Seen> {
  const daemon = await startKeelson({ configToml: `[image]\nunpack_concurrency = ${unpackConcurrency}\n` });
  daemons.push(daemon);
  await daemon.client.image.call('PullImage', { image: { image: `${registry.host}/${repo}` } });
  const [baseChain, , topChain] = chainIds(layers);
  const fsOf = (chain: string | undefined): string => join(daemon.root, 'snapshots', (chain ?? '').slice(7), 'fs');
  const top = fsOf(topChain);
  return {
    tmpMode: lstatSync(join(top, 'tmp')).mode & 0o7777,
    usrLibMode: lstatSync(join(top, 'usr/lib')).mode & 0o7777,
    usrLibX: readFileSync(join(top, 'usr/lib/x'), 'utf8'),
    baseLibLink: readlinkSync(join(fsOf(baseChain), 'lib')),
    topHasLib: lstatSync(join(top, 'lib'), { throwIfNoEntry: false }) !== undefined,
    topTmpX: readFileSync(join(top, 'tmp/x'), 'utf8'),
  };
}

describe('parents a layer lacks', () => {
  it('take the attributes of the directory below and follow a symlink below, in parallel or not', async () => {
    const base = await buildLayer([
      { type: 'dir', path: 'tmp/', mode: 0o1777 },
      { type: 'dir', path: 'usr/' },
      { type: 'dir', path: 'usr/lib/', mode: 0o750 },
      { type: 'symlink', path: 'lib', target: 'usr/lib' },
    ]);
    // A big middle layer, so the top one tends to finish first when layers unpack in parallel.
    const middle = await buildLayer([{ type: 'file', path: 'opt/big', content: randomBytes(3 * 1024 * 1024) }]);
    const top = await buildLayer([{ type: 'file', path: 'tmp/x', content: 't' }, { type: 'file', path: 'lib/x', content: 'l' }]);
    const layers = [base, middle, top];
    const image = await buildImage({ base: false, layers });
    const repo = `parents/merged-usr-${randomBytes(3).toString('hex')}`;
    await registry.push(repo, image, 'latest');

    const parallel = await pullAndLook(4, layers, repo);
    expect(parallel).toEqual({ tmpMode: 0o1777, usrLibMode: 0o750, usrLibX: 'l', baseLibLink: 'usr/lib', topHasLib: false, topTmpX: 't' });
    expect(await pullAndLook(1, layers, repo)).toEqual(parallel);
  });
});

describe('a layer whose parent comes from two layers down', () => {
  // The middle layer makes no implicit dirs, so it never waited for the base: a top layer
  // waiting only for the middle one read the base while it was still unpacking, missed
  // `lib -> usr/lib` and made a real /lib that hid the base's (issue 13).
  it('waits for every layer below, not only the one right below', async () => {
    const base = await buildLayer([
      { type: 'dir', path: 'usr/' },
      { type: 'dir', path: 'usr/lib/' },
      { type: 'symlink', path: 'lib', target: 'usr/lib' },
      // Big and incompressible, so the base is still unpacking when the two small ones are done.
      { type: 'file', path: 'usr/share/big', content: randomBytes(48 * 1024 * 1024) },
    ]);
    const middle = await buildLayer([{ type: 'dir', path: 'opt/' }, { type: 'file', path: 'opt/small', content: 's' }]);
    const top = await buildLayer([{ type: 'file', path: 'lib/x', content: 'l' }]);
    const layers = [base, middle, top];
    const repo = `parents/two-down-${randomBytes(3).toString('hex')}`;
    await registry.push(repo, await buildImage({ base: false, layers }), 'latest');

    const daemon = await startKeelson({ configToml: '[image]\nunpack_concurrency = 3\n' });
    daemons.push(daemon);
    await daemon.client.image.call('PullImage', { image: { image: `${registry.host}/${repo}` } });
    const lowers = chainIds(layers).reverse().map((c) => join(daemon.root, 'snapshots', c.slice(7), 'fs'));
    const merged = await mkdtemp(join(tmpdir(), 'keelson-merged-'));
    await execa('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${lowers.join(':')}`, merged]);
    try {
      expect(lstatSync(join(merged, 'lib')).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(merged, 'lib'))).toBe('usr/lib');
      expect(readFileSync(join(merged, 'usr/lib/x'), 'utf8')).toBe('l');
      expect(readFileSync(join(merged, 'opt/small'), 'utf8')).toBe('s');
    } finally {
      await execa('umount', [merged]);
      await rm(merged, { recursive: true });
    }
  });
});

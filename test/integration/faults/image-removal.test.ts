// RemoveImage of a big image (~20k files) answers before its layer tree is gone: the layer dir
// is renamed to snapshots/tmp-gc-* and `rm -rf` deletes it in the background (tree-removal.ts).
// The daemon's PATH starts with an `rm` wrapper that, while an arm file exists, holds the rm
// of a tmp-gc-* tree open (pid in a marker file, until a release file appears), so the tests
// observe the state instead of racing the removal: the RPC has answered while the whole tree
// is still there, and a daemon killed during the removal leaves the tree, which the next start
// removes. The same goes for a removed container's rootfs dir (its upper dir).
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findExecutable } from '../../../src/runtime/find-executable.js';
import { killProcessTree } from '../../../src/runtime/process-tree.js';
import { startKeelson } from '../../fixtures/daemon.js';
import { buildImage, type LayerEntry } from '../../fixtures/image-builder.js';
import { leftovers, tmpScratch } from '../../fixtures/nothing-left.js';
import { PodEnv, waitFor } from '../../fixtures/pod-env.js';
import { waitForPidFile } from '../../fixtures/wait.js';
import { entries } from '../../fixtures/sandbox.js';

const DIRS = 100;
const PER_DIR = 200; // 20k files, plus the dirs

const dir = mkdtempSync(join(tmpdir(), 'keelson-tree-removal-'));
const binDir = join(dir, 'bin');
const ARM = join(dir, 'arm');
const MARKER = join(dir, 'held');
const RELEASE = join(dir, 'release');
const daemonEnv = { ...process.env, PATH: `${binDir}:${process.env.PATH ?? '/usr/bin:/bin'}` };
let env: PodEnv;
let tmpBefore: string[] = [];

beforeAll(async () => {
  tmpBefore = tmpScratch();
  const rm = findExecutable('rm') as string;
  mkdirSync(binDir);
  writeFileSync(join(binDir, 'rm'), [
    '#!/bin/sh',
    'case " $* " in',
    `  *tmp-gc-*) if [ -e ${ARM} ]; then ${rm} -f ${ARM}; echo $$ > ${MARKER}; i=0;`,
    `    while [ ! -e ${RELEASE} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; fi;;`,
    'esac',
    `exec ${rm} "$@"`,
    '',
  ].join('\n'));
  chmodSync(join(binDir, 'rm'), 0o755);
  env = await PodEnv.start({}, { env: daemonEnv });
});

afterAll(async () => {
  writeFileSync(RELEASE, '');
  await env?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function manyFiles(prefix: string): LayerEntry[] {
  const out: LayerEntry[] = [{ type: 'dir', path: `${prefix}/` }];
  for (let d = 0; d < DIRS; d++) {
    out.push({ type: 'dir', path: `${prefix}/d${d}/` });
    for (let f = 0; f < PER_DIR; f++) out.push({ type: 'file', path: `${prefix}/d${d}/f${f}`, content: Buffer.from(`${d}/${f}\n`) });
  }
  return out;
}

/** Pulls a fresh image whose only layer holds ~20k files; returns its ref and that layer's dir name. */
async function pullBigImage(tag: string): Promise<{ ref: string; layer: string }> {
  const built = await buildImage({ base: false, layers: [manyFiles('many')] });
  const repo = `faults/many-${tag}`;
  await env.registry.push(repo, built, 'v1');
  const ref = `${env.registry.host}/${repo}:v1`;
  const snapshots = join(env.daemon.root, 'snapshots');
  const before = entries(snapshots);
  await env.daemon.client.image.call('PullImage', { image: { image: ref } });
  const added = entries(snapshots).filter((n) => !before.includes(n));
  expect(added).toHaveLength(1);
  return { ref, layer: added[0] as string };
}

function gcDirs(): string[] {
  return entries(join(env.daemon.root, 'snapshots')).filter((n) => n.startsWith('tmp-gc-'));
}

function filesIn(tree: string): number {
  return readdirSync(tree, { recursive: true }).length;
}

function releaseHeldRm(): void {
  writeFileSync(RELEASE, '');
}

describe('removal of big trees in the background', () => {
  it('RemoveImage of a 20k-file image answers while the renamed tree is still whole', async () => {
    rmSync(RELEASE, { force: true });
    rmSync(MARKER, { force: true });
    const { ref, layer } = await pullBigImage('answer');
    const total = filesIn(join(env.daemon.root, 'snapshots', layer));
    expect(total).toBeGreaterThan(DIRS * PER_DIR);

    writeFileSync(ARM, '');
    await env.daemon.client.image.call('RemoveImage', { image: { image: ref } });
    // The call has answered; the rm of the tree is held, so the tree is all there, renamed.
    await waitForPidFile(MARKER, 'the rm of the removed tree to be held');
    expect(existsSync(join(env.daemon.root, 'snapshots', layer))).toBe(false);
    const [doomed, ...more] = gcDirs();
    expect(more).toEqual([]);
    expect(filesIn(join(env.daemon.root, 'snapshots', doomed as string))).toBe(total);
    expect((await env.daemon.client.image.call('ImageStatus', { image: { image: ref } })).image).toBeFalsy();

    releaseHeldRm();
    expect(await leftovers(env, { pods: [], tmpBefore })).toEqual([]);
  });

  it('a removal cut short by a kill finishes after the restart', async () => {
    rmSync(RELEASE, { force: true });
    rmSync(MARKER, { force: true });
    const { ref } = await pullBigImage('killed');
    writeFileSync(ARM, '');
    await env.daemon.client.image.call('RemoveImage', { image: { image: ref } });
    const held = await waitForPidFile(MARKER, 'the rm of the removed tree to be held');
    await env.daemon.kill();
    killProcessTree(held); // the held rm, by its pid
    const left = gcDirs();
    expect(left).toHaveLength(1);

    env.daemon = await startKeelson({ base: env.daemon.base, env: daemonEnv });
    await waitFor('the start-up to remove the tree left', async () => (gcDirs().length === 0 ? true : undefined), 60_000);
    expect(await leftovers(env, { pods: [], tmpBefore })).toEqual([]);
  }, 120_000);

  it("RemoveContainer answers before the container's written files are gone, and a kill meanwhile loses nothing", async () => {
    rmSync(RELEASE, { force: true });
    rmSync(MARKER, { force: true });
    const pod = await env.runPod();
    const write = `mkdir /many && cd /many && for d in $(seq 1 ${DIRS}); do mkdir $d; for f in $(seq 1 ${PER_DIR}); do : > $d/$f; done; done && : > /written; sleep 3600`;
    const id = await env.startContainer(pod, env.container('writer', ['sh', '-c', write]));
    await waitFor('the container to write its files', async () => ((await env.exec(id, ['test', '-e', '/written'])).code === 0 ? true : undefined), 60_000);
    await env.daemon.client.runtime.call('StopContainer', { container_id: id, timeout: '0' });

    writeFileSync(ARM, '');
    await env.daemon.client.runtime.call('RemoveContainer', { container_id: id });
    const held = await waitForPidFile(MARKER, 'the rm of the removed rootfs to be held');
    expect(entries(join(env.daemon.root, 'container-roots'))).toEqual([]);
    const [doomed] = gcDirs();
    expect(filesIn(join(env.daemon.root, 'snapshots', doomed as string, 'upper', 'many'))).toBe(DIRS * (PER_DIR + 1));

    await env.daemon.kill();
    killProcessTree(held);
    env.daemon = await startKeelson({ base: env.daemon.base, env: daemonEnv });
    await waitFor('the start-up to remove the tree left', async () => (gcDirs().length === 0 ? true : undefined), 60_000);
    await env.removePod(pod.id);
    expect(await leftovers(env, { pods: [pod.id], tmpBefore })).toEqual([]);
  }, 120_000);
});

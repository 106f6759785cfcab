// Container lifecycle speed and memory. Run on demand (as root):
//   bench/run.sh container [runs] [many]
// Prints p50/p90 of create+start and stop+remove through the container service beside the
// floor measured in the same run, interleaved: the same work by hand (overlay rootfs + conmon +
// runc create/start; runc kill/delete + rootfs removal) on the same kind of bundle. Then the
// service process's RSS with 0 and 100 running containers (the service runs in-process here,
// so this process is the daemon) and conmon's RSS per container.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findExecutable } from '../src/container/find-executable.js';
import { containerRequest, startServiceHarness } from '../test/fixtures/container-service.js';

const run = promisify(execFile);
const RUNS = Number(process.argv[2] ?? 30);
const MANY = Number(process.argv[3] ?? 100);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function rssKb(pid: number | 'self'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

async function main(): Promise<void> {
  const h = await startServiceHarness();
  const conmon = findExecutable('conmon') as string;
  const runc = findExecutable('runc') as string;
  try {
    await h.images.addImage('busybox');
    const pod = await h.pods.createPod();
    const svc = (): typeof h.service => h.service;

    // Warm-up, and a config.json to reuse for the floor.
    const warm = await svc().create(pod.id, containerRequest({ name: 'warm', command: ['sleep', '1000'] }));
    const template = JSON.parse(await readFile(join(h.base, 'root', 'containers', warm, 'bundle', 'config.json'), 'utf8')) as
      { root: { path: string }; linux: { cgroupsPath: string } };
    await svc().remove(warm);

    const createStart: number[] = [];
    const stopRemove: number[] = [];
    const serviceRun = async (i: number): Promise<void> => {
      let t = performance.now();
      const id = await svc().create(pod.id, containerRequest({ name: `b${i}`, command: ['sleep', '1000'] }));
      await svc().start(id);
      createStart.push(performance.now() - t);
      t = performance.now();
      await svc().stop(id, 0);
      await svc().remove(id);
      stopRemove.push(performance.now() - t);
    };

    // The floor: the same work by hand, no service, no database, no spec building.
    const floorCreateStart: number[] = [];
    const floorStopRemove: number[] = [];
    const runcRoot = join(h.base, 'floor-runc');
    const exitDir = join(h.base, 'floor-exits');
    await mkdir(runcRoot, { recursive: true });
    await mkdir(exitDir, { recursive: true });
    const floorRun = async (i: number): Promise<void> => {
      const id = `floor${i}`;
      const dir = join(h.base, 'floor', id);
      let t = performance.now();
      await mkdir(dir, { recursive: true });
      const { rootfs } = await h.images.prepareRootfs(id, h.images.resolve('busybox')?.id as string);
      const config = { ...template, root: { ...template.root, path: rootfs }, linux: { ...template.linux, cgroupsPath: `${pod.cgroupParent}/${id}` } };
      await writeFile(join(dir, 'config.json'), JSON.stringify(config));
      const child = spawn(conmon, ['--api-version', '1', '-c', id, '-u', id, '-n', id, '-r', runc, '--runtime-arg', '--root', '--runtime-arg', runcRoot,
        '-b', dir, '-p', join(dir, 'pid'), '-P', join(dir, 'conmon.pid'), '-l', join(dir, 'log'), '--exit-dir', exitDir,
        '--persist-dir', dir, '--socket-dir-path', dir, '--no-sync-log'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'], env: { _OCI_SYNCPIPE: '3', PATH: process.env.PATH ?? '' }, detached: true });
      await new Promise<void>((resolve) => child.stdio[3]?.once('data', () => resolve()));
      child.stdio[3]?.destroy();
      await run(runc, ['--root', runcRoot, 'start', id]);
      floorCreateStart.push(performance.now() - t);
      t = performance.now();
      await run(runc, ['--root', runcRoot, 'kill', id, 'KILL']);
      while (!existsSync(join(exitDir, id))) await new Promise((r) => setTimeout(r, 5));
      await run(runc, ['--root', runcRoot, 'delete', '--force', id]);
      await h.images.removeRootfs(id);
      floorStopRemove.push(performance.now() - t);
    };
    // Interleaved, so drift of the machine weighs on both alike.
    for (let i = 0; i < RUNS; i++) {
      await serviceRun(i);
      await floorRun(i);
    }

    global.gc?.();
    const rss0 = await rssKb('self');
    const ids: string[] = [];
    for (let i = 0; i < MANY; i++) {
      const id = await svc().create(pod.id, containerRequest({ name: `m${i}`, command: ['sleep', '1000'] }));
      await svc().start(id);
      ids.push(id);
    }
    global.gc?.();
    const rssMany = await rssKb('self');
    let conmonKb = 0;
    for (const id of ids) {
      const pid = Number(await readFile(join(h.base, 'state', 'containers', id, 'conmon.pid'), 'utf8'));
      conmonKb += await rssKb(pid);
    }
    for (const id of ids) await svc().remove(id);

    const line = (name: string, values: number[], floor: number[]): string => {
      const p50 = percentile(values, 50);
      const p90 = percentile(values, 90);
      const f50 = percentile(floor, 50);
      const f90 = percentile(floor, 90);
      return `${name.padEnd(16)} p50 ${p50.toFixed(1)} ms (floor ${f50.toFixed(1)} ms, x${(p50 / f50).toFixed(2)})  ` +
        `p90 ${p90.toFixed(1)} ms (floor ${f90.toFixed(1)} ms, x${(p90 / f90).toFixed(2)})`;
    };
    console.log(`container bench: ${RUNS} runs, runc ${runc}, conmon ${conmon}`);
    console.log(line('create+start', createStart, floorCreateStart));
    console.log(line('stop+remove', stopRemove, floorStopRemove));
    console.log(`service process RSS: ${(rss0 / 1024).toFixed(1)} MiB with 0 containers, ${(rssMany / 1024).toFixed(1)} MiB with ${MANY} running ` +
      `(+${((rssMany - rss0) / MANY).toFixed(0)} KiB each)`);
    console.log(`conmon RSS: ${(conmonKb / MANY / 1024).toFixed(2)} MiB per container`);
  } finally {
    await h.destroy();
  }
}

await main();

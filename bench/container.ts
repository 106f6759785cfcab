// Container lifecycle speed and memory through the daemon's CRI socket. Run on demand (root):
//   bench/run.sh container [runs] [many]
// Prints p50/p90 of CreateContainer+StartContainer and StopContainer+RemoveContainer beside the
// floor measured in the same run, interleaved: the same work by hand (overlay rootfs + conmon +
// runc create/start; runc kill/delete + rootfs removal) on a copy of keelson's own bundle.
// Then the daemon's RSS with 0 and `many` running containers, and conmon's RSS per container.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findExecutable } from '../src/runtime/find-executable.js';
import { PodEnv } from '../test/fixtures/pod-env.js';
import { RootfsProvider } from '../test/fixtures/rootfs-provider.js';

const run = promisify(execFile);
const RUNS = Number(process.argv[2] ?? 30);
const MANY = Number(process.argv[3] ?? 100);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

async function main(): Promise<void> {
  const env = await PodEnv.start();
  const rootfs = await RootfsProvider.create();
  const conmon = findExecutable('conmon') as string;
  const runc = findExecutable('runc') as string;
  const rt = env.daemon.client.runtime;
  const base = env.daemon.base;
  try {
    const floorImage = await rootfs.addImage('busybox');
    const pod = await env.runPod({ linux: { security_context: { namespace_options: { pid: 'CONTAINER' } } } });
    const sleep = (name: string) => env.container(name, ['sleep', '1000']);

    // Warm-up, and keelson's own config.json to reuse for the floor.
    const warm = await env.startContainer(pod, sleep('warm'));
    const template = JSON.parse(await readFile(join(env.daemon.root, 'containers', warm, 'bundle', 'config.json'), 'utf8')) as
      { root: { path: string }; linux: { cgroupsPath: string } };
    const cgroupParent = template.linux.cgroupsPath.replace(/\/[^/]+$/, '');
    await rt.call('StopContainer', { container_id: warm, timeout: '0' });
    await rt.call('RemoveContainer', { container_id: warm });

    const createStart: number[] = [];
    const stopRemove: number[] = [];
    const keelsonRun = async (i: number): Promise<void> => {
      let t = performance.now();
      const id = await env.startContainer(pod, sleep(`b${i}`));
      createStart.push(performance.now() - t);
      t = performance.now();
      await rt.call('StopContainer', { container_id: id, timeout: '0' });
      await rt.call('RemoveContainer', { container_id: id });
      stopRemove.push(performance.now() - t);
    };

    // The floor: the same work by hand, no daemon, no database, no spec building.
    const floorCreateStart: number[] = [];
    const floorStopRemove: number[] = [];
    const runcRoot = join(base, 'floor-runc');
    const exitDir = join(base, 'floor-exits');
    await mkdir(runcRoot, { recursive: true });
    await mkdir(exitDir, { recursive: true });
    const floorRun = async (i: number): Promise<void> => {
      const id = `floor${i}`;
      const dir = join(base, 'floor', id);
      let t = performance.now();
      await mkdir(dir, { recursive: true });
      const { rootfs: root } = await rootfs.prepareRootfs(id, floorImage.id);
      const config = { ...template, root: { ...template.root, path: root }, linux: { ...template.linux, cgroupsPath: `${cgroupParent}/${id}` } };
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
      await rootfs.removeRootfs(id);
      floorStopRemove.push(performance.now() - t);
    };
    // Interleaved, so drift of the machine weighs on both alike.
    for (let i = 0; i < RUNS; i++) {
      await keelsonRun(i);
      await floorRun(i);
    }

    const daemonPid = env.daemon.process.pid as number;
    const rss0 = await rssKb(daemonPid);
    const ids: string[] = [];
    for (let i = 0; i < MANY; i++) ids.push(await env.startContainer(pod, sleep(`m${i}`)));
    const rssMany = await rssKb(daemonPid);
    let conmonKb = 0;
    for (const id of ids) {
      const pid = Number(await readFile(join(env.daemon.state, 'containers', id, 'conmon.pid'), 'utf8'));
      conmonKb += await rssKb(pid);
    }
    for (const id of ids) await rt.call('RemoveContainer', { container_id: id });

    const line = (name: string, values: number[], floor: number[]): string => {
      const p50 = percentile(values, 50);
      const p90 = percentile(values, 90);
      const f50 = percentile(floor, 50);
      const f90 = percentile(floor, 90);
      return `${name.padEnd(16)} p50 ${p50.toFixed(1)} ms (floor ${f50.toFixed(1)} ms, x${(p50 / f50).toFixed(2)})  ` +
        `p90 ${p90.toFixed(1)} ms (floor ${f90.toFixed(1)} ms, x${(p90 / f90).toFixed(2)})`;
    };
    console.log(`container bench through the CRI socket: ${RUNS} runs, runc ${runc}, conmon ${conmon}`);
    console.log(line('create+start', createStart, floorCreateStart));
    console.log(line('stop+remove', stopRemove, floorStopRemove));
    console.log(`daemon RSS: ${(rss0 / 1024).toFixed(1)} MiB with 0 containers, ${(rssMany / 1024).toFixed(1)} MiB with ${MANY} running ` +
      `(+${((rssMany - rss0) / MANY).toFixed(0)} KiB each)`);
    console.log(`conmon RSS: ${(conmonKb / MANY / 1024).toFixed(2)} MiB per container`);
  } finally {
    await env.destroy();
    await rootfs.destroy();
  }
}

await main();

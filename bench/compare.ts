// keelson beside Debian's containerd (its CRI plugin), in the same run, driven by the same CRI
// client with the same pod and container configs, interleaved op by op (keelson, containerd,
// the order swapped every sample) so drift of the machine weighs on both alike.
//   bench/run.sh compare [--samples N] [--quick] [--json FILE]
// --quick: 5 samples, no 300 MB pull, no 100-pod steps (a few minutes).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CriClient } from '../src/client/cri.js';
import type { ContainerConfig, PodSandboxConfig } from '../src/cri/generated/cri-types.js';
import { startKeelson, type KeelsonDaemon } from '../test/fixtures/daemon.js';
import { startRegistry, type Registry } from '../test/fixtures/registry.js';
import { unmountAllUnder } from '../test/fixtures/sandbox.js';
import { CONTAINERD_BIN, startContainerd, type Containerd } from './compare/containerd.js';
import { pushBenchImages, type BenchImages } from './compare/images.js';
import { listProcesses, treeMemory } from './compare/memory.js';
import { benchNetwork, type BenchNetwork } from './compare/network.js';
import { latencyTable, memoryTable, percentile, type MemorySample, type OpResult, type Runtime } from './compare/stats.js';

interface Options {
  samples: number;
  quick: boolean;
  json?: string;
}

function parseOptions(argv: readonly string[]): Options {
  const quick = argv.includes('--quick');
  const opts: Options = { samples: quick ? 5 : 20, quick };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') continue;
    if (a === '--samples' || a === '--json') {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      if (a === '--json') opts.json = v;
      else if (!/^[1-9]\d*$/.test(v)) throw new Error(`--samples must be a positive integer, got ${JSON.stringify(v)}`);
      else opts.samples = Number(v);
      continue;
    }
    throw new Error(`unknown argument ${JSON.stringify(a)} (usage: bench/run.sh compare [--samples N] [--quick] [--json FILE])`);
  }
  return opts;
}

/** One runtime under test: its client, what identifies its monitors, and the pod it is working on. */
interface Side {
  name: Runtime;
  client: CriClient;
  daemonPid: number;
  /** A path in the arguments of every monitor of this runtime (conmon, shims). */
  monitorMarker: string;
  pod?: { id: string; config: PodSandboxConfig };
  container?: string;
}

class Bench {
  readonly results = new Map<string, OpResult>();
  private seq = 0;

  constructor(
    readonly images: BenchImages,
    readonly logRoot: string,
  ) {}

  record(op: string, runtime: Runtime, ms: number): void {
    const r = this.results.get(op) ?? { op, samples: { keelson: [], containerd: [] } };
    r.samples[runtime].push(ms);
    this.results.set(op, r);
  }

  // kubelet's defaults: a PID namespace per container, network and IPC per pod.
  podConfig(): PodSandboxConfig {
    const suffix = `${randomBytes(3).toString('hex')}-${this.seq++}`;
    return {
      metadata: { name: `bench-${suffix}`, namespace: 'bench', uid: `uid-${suffix}`, attempt: 0 },
      hostname: `bench-${suffix}`,
      log_directory: join(this.logRoot, suffix),
      labels: { app: 'bench' },
      linux: { security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
    };
  }

  containerConfig(): ContainerConfig {
    return { metadata: { name: 'sleeper', attempt: 0 }, image: { image: this.images.run }, command: ['sleep', '3600'], log_path: 'sleeper.log' };
  }

  /** RunPodSandbox + CreateContainer + StartContainer, untimed parts of a larger step. */
  async startPod(side: Side): Promise<string> {
    const config = this.podConfig();
    const rt = side.client.runtime;
    const { pod_sandbox_id: id } = await rt.call('RunPodSandbox', { config }, { timeoutMs: 300_000 });
    const c = await rt.call('CreateContainer', { pod_sandbox_id: id ?? '', config: this.containerConfig(), sandbox_config: config }, { timeoutMs: 300_000 });
    await rt.call('StartContainer', { container_id: c.container_id ?? '' }, { timeoutMs: 300_000 });
    return id ?? '';
  }

  async removePod(side: Side, id: string): Promise<void> {
    await side.client.runtime.call('StopPodSandbox', { pod_sandbox_id: id }, { timeoutMs: 300_000 });
    await side.client.runtime.call('RemovePodSandbox', { pod_sandbox_id: id }, { timeoutMs: 300_000 });
  }
}

type Step = [op: string, run: (s: Side) => Promise<unknown>];

function lifecycleSteps(b: Bench): Step[] {
  const rt = (s: Side): CriClient['runtime'] => s.client.runtime;
  const podId = (s: Side): string => s.pod?.id ?? '';
  const ctr = (s: Side): string => s.container ?? '';
  return [
    ['RunPodSandbox', async (s) => {
      const config = b.podConfig();
      const r = await rt(s).call('RunPodSandbox', { config });
      s.pod = { id: r.pod_sandbox_id ?? '', config };
    }],
    ['CreateContainer', async (s) => {
      const r = await rt(s).call('CreateContainer', { pod_sandbox_id: podId(s), config: b.containerConfig(), sandbox_config: s.pod?.config });
      s.container = r.container_id ?? '';
    }],
    ['StartContainer', (s) => rt(s).call('StartContainer', { container_id: ctr(s) })],
    ['ContainerStatus', (s) => rt(s).call('ContainerStatus', { container_id: ctr(s) })],
    ['ExecSync (true)', async (s) => {
      const r = await rt(s).call('ExecSync', { container_id: ctr(s), cmd: ['true'], timeout: '10' });
      if ((r.exit_code ?? 0) !== 0) throw new Error(`${s.name}: ExecSync true exited ${r.exit_code}: ${r.stderr?.toString()}`);
    }],
    ['ImageStatus', (s) => s.client.image.call('ImageStatus', { image: { image: b.images.run } })],
    // The container ignores SIGTERM (pid 1 without a handler), so both are asked to kill at once.
    ['StopContainer', (s) => rt(s).call('StopContainer', { container_id: ctr(s), timeout: '0' })],
    ['RemoveContainer', (s) => rt(s).call('RemoveContainer', { container_id: ctr(s) })],
    ['StopPodSandbox', (s) => rt(s).call('StopPodSandbox', { pod_sandbox_id: podId(s) })],
    ['RemovePodSandbox', (s) => rt(s).call('RemovePodSandbox', { pod_sandbox_id: podId(s) })],
  ];
}

function pullSteps(image: string, label: string): Step[] {
  return [
    [`PullImage ${label}`, (s) => s.client.image.call('PullImage', { image: { image } }, { timeoutMs: 600_000 })],
    [`ImageStatus ${label}`, async (s) => {
      const r = await s.client.image.call('ImageStatus', { image: { image } });
      if (!r.image) throw new Error(`${s.name}: ImageStatus ${image} found nothing after the pull`);
    }],
    [`RemoveImage ${label}`, (s) => s.client.image.call('RemoveImage', { image: { image } }, { timeoutMs: 600_000 })],
  ];
}

// Ctrl-C or SIGTERM ends the run at the next op boundary, so the cleanup below still runs.
let interrupted: string | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => (interrupted = signal));

function checkInterrupted(): void {
  if (interrupted) throw new Error(`interrupted by ${interrupted}`);
}

/** Runs each step on both sides back to back, the side going first swapped every sample. */
async function interleave(b: Bench, sides: readonly [Side, Side], steps: Step[], samples: number, what: string): Promise<void> {
  for (let i = 0; i < samples; i++) {
    const order = i % 2 === 0 ? sides : ([sides[1], sides[0]] as const);
    for (const [op, run] of steps) {
      for (const side of order) {
        checkInterrupted();
        const t = performance.now();
        try {
          await run(side);
        } catch (err) {
          throw new Error(`${what}, sample ${i + 1}: ${op} on ${side.name} failed: ${(err as Error).message}`, { cause: err });
        }
        b.record(op, side.name, performance.now() - t);
      }
    }
    process.stderr.write(`  ${what}: sample ${i + 1}/${samples}\n`);
  }
}

// Waits for every call before failing, so no pod is still being made while cleanup lists them.
function settledAll<T>(results: PromiseSettledResult<T>[], what: string): T[] {
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length > 0) {
    const first = failed[0]?.reason as Error;
    throw new Error(`${what}: ${failed.length} failed, the first: ${first.message}`, { cause: first });
  }
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** Starts `count` pods at once, wall time recorded; leaves them running and returns their ids. */
async function startMany(b: Bench, side: Side, count: number, op: string | undefined): Promise<string[]> {
  checkInterrupted();
  const t = performance.now();
  const ids = settledAll(await Promise.allSettled(Array.from({ length: count }, () => b.startPod(side))), `starting ${count} pods on ${side.name}`);
  if (op) b.record(op, side.name, performance.now() - t);
  return ids;
}

async function removeMany(b: Bench, side: Side, ids: string[], op: string | undefined): Promise<void> {
  const t = performance.now();
  settledAll(await Promise.allSettled(ids.map((id) => b.removePod(side, id))), `removing ${ids.length} pods on ${side.name}`);
  if (op) b.record(op, side.name, performance.now() - t);
}

async function measureMemory(side: Side, pods: number): Promise<MemorySample> {
  checkInterrupted();
  // Let the start-up's short-lived helpers (runc, CNI plugins) exit before reading /proc.
  await new Promise((r) => setTimeout(r, 2000));
  return { pods, runtime: side.name, ...(await treeMemory(side.daemonPid, side.monitorMarker)) };
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  if (!existsSync(CONTAINERD_BIN)) throw new Error(`${CONTAINERD_BIN} is missing: apt-get install -y containerd (bench/run.sh compare does)`);
  const work = await mkdtemp(join(tmpdir(), 'bench-compare-'));
  let registry: Registry | undefined;
  let keelson: KeelsonDaemon | undefined;
  let containerd: Containerd | undefined;
  const nets: BenchNetwork[] = [];
  const memory: MemorySample[] = [];
  const started = new Date();
  try {
    registry = await startRegistry();
    process.stderr.write(`building and pushing images${opts.quick ? '' : ' (with the ~300 MB one)'} ...\n`);
    const images = await pushBenchImages(registry, !opts.quick);
    const knet = benchNetwork('k', join(work, 'knet'), [130, 160]);
    const cnet = benchNetwork('c', join(work, 'cnet'), [100, 130]);
    nets.push(knet, cnet);
    // Both daemons log at info: keelson's fixture default (debug) would tax keelson alone.
    const kbase = join(work, 'keelson');
    keelson = await startKeelson({
      base: kbase,
      args: ['--root', join(kbase, 'root'), '--state', join(kbase, 'state'), '--config', join(kbase, 'config.toml'), '--log-level', 'info'],
    });
    await writeFile(join(keelson.cniConfDir, '10-bench.conflist'), JSON.stringify(knet.conflist, null, 2));
    containerd = await startContainerd({ registryHost: registry.host, sandboxImage: images.pause, conflist: cnet.conflist });
    const k: Side = { name: 'keelson', client: keelson.client, daemonPid: keelson.process.pid ?? -1, monitorMarker: keelson.state };
    const c: Side = { name: 'containerd', client: containerd.client, daemonPid: containerd.pid, monitorMarker: containerd.socket };
    const sides = [k, c] as const;
    const b = new Bench(images, join(work, 'logs'));
    await mkdir(b.logRoot, { recursive: true });

    // Warm-up, untimed: the run image on both, containerd's pause image, the bridges, one pod each.
    for (const side of sides) {
      await side.client.image.call('PullImage', { image: { image: images.run } });
      await b.removePod(side, await b.startPod(side));
    }
    const warm = new Bench(images, b.logRoot);
    await interleave(warm, sides, lifecycleSteps(warm), 1, 'warm-up');

    await interleave(b, sides, lifecycleSteps(b), opts.samples, 'pod and container lifecycle');
    await interleave(b, sides, pullSteps(images.small, `small (${(images.smallBytes / 1e6).toFixed(1)} MB gz)`), opts.samples, 'small image');
    if (images.large) {
      // Each pull moves ~300 MB per runtime: fewer samples keep the full run in minutes.
      await interleave(b, sides, pullSteps(images.large, `large (${((images.largeBytes ?? 0) / 1e6).toFixed(0)} MB gz)`), Math.min(opts.samples, 5), 'large image');
    }

    for (const side of sides) memory.push(await measureMemory(side, 0));
    for (const side of sides) {
      const ids = await startMany(b, side, 10, undefined);
      memory.push(await measureMemory(side, 10));
      await removeMany(b, side, ids, undefined);
    }
    const concurrentRuns = opts.quick ? 1 : Math.min(opts.samples, 3);
    for (let i = 0; i < concurrentRuns; i++) {
      for (const side of i % 2 === 0 ? sides : [c, k]) {
        await removeMany(b, side, await startMany(b, side, 20, '20 pods started at once (wall)'), '20 pods stopped+removed at once (wall)');
      }
    }
    if (!opts.quick) {
      for (const side of sides) {
        const ids = await startMany(b, side, 100, '100 pods started at once (wall)');
        memory.push(await measureMemory(side, 100));
        await removeMany(b, side, ids, '100 pods stopped+removed at once (wall)');
      }
    }

    const results = [...b.results.values()];
    const versions = {
      keelson: (await k.client.runtime.call('Version', {})).runtime_version ?? '',
      containerd: execFileSync(CONTAINERD_BIN, ['--version'], { encoding: 'utf8' }).trim(),
    };
    console.log(`bench/compare: ${opts.samples} samples${opts.quick ? ' (quick)' : ''}, ${cpus().length} CPUs, keelson ${versions.keelson}, ${versions.containerd}`);
    console.log('pods: 1 busybox `sleep` container each, pid namespace per container (kubelet default), CNI bridge+firewall+portmap\n');
    console.log(latencyTable(results));
    console.log('');
    console.log(memoryTable(memory));
    if (opts.json) {
      const summary = (xs: number[]): { p50: number; p90: number; samples: number[] } => ({ p50: percentile(xs, 50), p90: percentile(xs, 90), samples: xs });
      const json = {
        started: started.toISOString(), options: opts, cpus: cpus().length, versions,
        ops: results.map((r) => ({ op: r.op, keelson: summary(r.samples.keelson), containerd: summary(r.samples.containerd) })),
        memory,
      };
      await writeFile(opts.json, `${JSON.stringify(json, null, 2)}\n`);
      console.log(`\nresults written to ${opts.json}`);
    }
  } catch (err) {
    // containerd's own words are what explain a failure on its side.
    if (containerd) console.error(`containerd's log (last part):\n${containerd.logs().slice(-8000)}`);
    throw err;
  } finally {
    const errors: unknown[] = [];
    const step = async (f: () => Promise<void> | void): Promise<void> => {
      try {
        await f();
      } catch (err) {
        errors.push(err);
      }
    };
    if (containerd) await step(() => (containerd as Containerd).destroy());
    if (keelson) {
      const daemon = keelson;
      await step(async () => {
        const pods = await daemon.client.runtime.call('ListPodSandbox', {}).catch(() => ({ items: [] }));
        for (const p of pods.items ?? []) {
          await daemon.client.runtime.call('StopPodSandbox', { pod_sandbox_id: p.id ?? '' }).catch(() => undefined);
          await daemon.client.runtime.call('RemovePodSandbox', { pod_sandbox_id: p.id ?? '' }).catch(() => undefined);
        }
        await daemon.stop();
        // conmon outlives the daemon by design; left ones are ours by the state dir in their arguments.
        for (const p of await listProcesses()) {
          if (p.argv.some((a) => a.includes(daemon.state))) process.kill(p.pid, 'SIGKILL');
        }
        unmountAllUnder(daemon.base);
        await daemon.destroy();
      });
    }
    for (const net of nets) await step(() => net.cleanup());
    if (registry) await step(() => (registry as Registry).stop());
    await step(() => rm(work, { recursive: true, force: true }));
    for (const err of errors) console.error('cleanup:', err);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

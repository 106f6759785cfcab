// The `keelson` binary against a real daemon, on what kubelet would do with a pod's life:
// one pod per namespace/name (refused re-runs, --replace, concurrent runs), a failed init
// container keeps its pod and logs (Init:Error) and Ctrl-C during its retries removes the pod,
// OOMKilled and two-container READY/STATUS as kubectl shows them, and the first restart after
// a crash happening at once, then the backoff with CrashLoopBackOff.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTestNetwork, writeNetworkConfig, type TestNetwork } from '../../fixtures/cni.js';
import { CLI_PATH, runCli, startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { unmountAllUnder } from '../../fixtures/sandbox.js';
import { waitFor } from '../../fixtures/wait.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const IMAGE = 'localhost/keelson/demo:latest';
/** A base long enough to tell "at once" from "after the backoff" on a loaded machine. */
const BACKOFF_BASE_MS = 4000;
const SUPERVISOR_TOML = `[supervisor]\nbackoff_base_ms = ${BACKOFF_BASE_MS}\nbackoff_max_ms = 16000\ntick_ms = 100\n`;
let daemon: KeelsonDaemon;
let net: TestNetwork;
let env: NodeJS.ProcessEnv;
let dir: string;
let logRoot: string;
const children: ChildProcess[] = [];

interface PodRowJson {
  id: string;
  name: string;
  status: string;
  ready: string;
  restarts: number;
}

interface PsRowJson {
  id: string;
  status: string;
  podSandboxId: string;
  metadata: { name: string };
}

async function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(args, env);
}

async function ok(...args: string[]): Promise<string> {
  const r = await cli(...args);
  if (r.code !== 0) throw new Error(`keelson ${args.join(' ')} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

async function pods(): Promise<PodRowJson[]> {
  return JSON.parse(await ok('pods', '-o', 'json')) as PodRowJson[];
}

async function podNamed(name: string): Promise<PodRowJson | undefined> {
  return (await pods()).find((p) => p.name === name);
}

/** A unique pod name per run, and a manifest file for it. */
async function manifest(base: string, body: (name: string) => string): Promise<{ name: string; file: string }> {
  const name = `${base}-${randomBytes(3).toString('hex')}`;
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, body(name));
  return { name, file };
}

function spawnCli(...args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, [CLI_PATH, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout?.resume();
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
  return { child, done };
}

const sleeper = (name: string): string => `
apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  terminationGracePeriodSeconds: 1 # busybox sleep/sh as PID 1 ignore SIGTERM
  containers:
    - { name: app, image: ${IMAGE}, command: ["sleep", "3600"] }
`;

beforeAll(async () => {
  daemon = await startKeelson({ configToml: SUPERVISOR_TOML });
  net = makeTestNetwork(daemon.base);
  await writeNetworkConfig(daemon.cniConfDir, net);
  dir = join(daemon.base, 'manifests');
  await mkdir(dir, { recursive: true });
  logRoot = join(daemon.base, 'pod-logs');
  env = { KEELSON_SOCKET: daemon.socket, KEELSON_ROOT: daemon.root, KEELSON_LOG_ROOT: logRoot };
  const layout = join(daemon.base, 'demo-image');
  execFileSync(join(repo, 'scripts/build-demo-image.sh'), [layout], { stdio: 'ignore' });
  await ok('image', 'import', layout);
}, 120_000);

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
  for (const p of await pods().catch(() => [])) await cli('rm', p.id);
});

afterAll(async () => {
  if (daemon) {
    await daemon.stop();
    unmountAllUnder(daemon.base);
    await daemon.destroy();
  }
  net?.cleanup();
});

describe('keelson run: one pod per namespace/name', () => {
  it('refuses to run a pod that exists, replaces it with --replace, and lets only one of two concurrent runs through', async () => {
    const { name, file } = await manifest('again', sleeper);
    await ok('run', file);
    const first = await podNamed(name);
    expect(first?.status).toBe('Running');

    const again = await cli('run', file);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain(`pod default/${name} already exists (id ${first?.id.slice(0, 12)}, Running)`);
    expect(again.stderr).toContain('--replace');
    expect((await pods()).filter((p) => p.name === name).map((p) => p.id)).toEqual([first?.id]);

    // A stopped pod counts too: it still holds the name.
    await ok('stop', name);
    const stopped = await cli('run', file);
    expect(stopped.stderr).toContain(`pod default/${name} already exists (id ${first?.id.slice(0, 12)}, Stopped)`);

    await ok('run', '--replace', file);
    const replaced = (await pods()).filter((p) => p.name === name);
    expect(replaced).toHaveLength(1);
    expect(replaced[0]?.id).not.toBe(first?.id);
    expect(replaced[0]?.status).toBe('Running');
    await ok('rm', name);

    // Two runs at once: the name lock lets one through; the other is refused, nothing made.
    const racer = await manifest('race', sleeper);
    const [a, b] = [spawnCli('run', racer.file), spawnCli('run', racer.file)];
    const results = await Promise.all([a.done, b.done]);
    expect(results.map((r) => r.code).sort()).toEqual([0, 1]);
    const loser = results.find((r) => r.code !== 0);
    expect(loser?.stderr).toMatch(new RegExp(`pod default/${racer.name} (already exists|is being started by another)`));
    expect((await pods()).filter((p) => p.name === racer.name)).toHaveLength(1);
    await ok('down', racer.file);
  }, 90_000);
});

describe('keelson run: failed init containers', () => {
  it('keeps the pod of a failed init container (Init:Error, its log on disk) until down', async () => {
    const { name, file } = await manifest('initfail', (n) => `
apiVersion: v1
kind: Pod
metadata: { name: ${n} }
spec:
  terminationGracePeriodSeconds: 1 # busybox sleep/sh as PID 1 ignore SIGTERM
  restartPolicy: Never
  initContainers:
    - { name: prep, image: ${IMAGE}, command: ["sh", "-c", "echo prep-broke; exit 2"] }
  containers:
    - { name: app, image: ${IMAGE}, command: ["sleep", "3600"] }
`);
    const r = await cli('run', file);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('init container prep of pod default/');
    expect(r.stderr).toContain('exited with code 2 (restartPolicy Never)');
    expect(r.stderr).toContain('Init:Error');
    const logPath = /its log: (\S+\.log)/.exec(r.stderr)?.[1] ?? '';
    expect(existsSync(logPath)).toBe(true);
    expect(readFileSync(logPath, 'utf8')).toContain('prep-broke');

    const row = await podNamed(name);
    expect(row?.status).toBe('Init:Error');
    expect(row?.ready).toBe('0/1');
    const ps = JSON.parse(await ok('ps', '-a', '-o', 'json')) as PsRowJson[];
    expect(ps.find((c) => c.podSandboxId === row?.id && c.metadata.name === 'prep')?.status).toBe('Error (2)');

    await ok('down', file);
    expect(await podNamed(name)).toBeUndefined();
    expect(existsSync(logPath)).toBe(false);
  }, 60_000);

  it('shows Init:CrashLoopBackOff while retrying, and Ctrl-C then removes the pod, its logs and volumes', async () => {
    const { name, file } = await manifest('initloop', (n) => `
apiVersion: v1
kind: Pod
metadata: { name: ${n} }
spec:
  terminationGracePeriodSeconds: 1 # busybox sleep/sh as PID 1 ignore SIGTERM
  initContainers:
    - { name: prep, image: ${IMAGE}, command: ["sh", "-c", "exit 1"], volumeMounts: [{ name: scratch, mountPath: /scratch }] }
  containers:
    - { name: app, image: ${IMAGE}, command: ["sleep", "3600"] }
  volumes:
    - { name: scratch, emptyDir: {} }
`);
    const run = spawnCli('run', file);
    await waitFor('Init:CrashLoopBackOff', async () => ((await podNamed(name))?.status === 'Init:CrashLoopBackOff' ? true : undefined), 30_000);
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`interrupted while starting pod default/${name}; the pod was removed`);
    expect(await podNamed(name)).toBeUndefined();
    const left = (d: string): string[] => (existsSync(d) ? readdirSync(d).filter((e) => e.startsWith(`default_${name}_`)) : []);
    expect(left(logRoot)).toEqual([]);
    expect(left(join(daemon.root, 'pod-volumes'))).toEqual([]);
  }, 60_000);
});

describe('keelson pods and ps: status as kubectl shows it', () => {
  it('shows OOMKilled for a container the kernel killed over its memory limit', async () => {
    const { name, file } = await manifest('oom', (n) => `
apiVersion: v1
kind: Pod
metadata: { name: ${n} }
spec:
  terminationGracePeriodSeconds: 1 # busybox sleep/sh as PID 1 ignore SIGTERM
  restartPolicy: Never
  containers:
    - name: hog
      image: ${IMAGE}
      command: ["sh", "-c", "x=0123456789abcdef; while true; do x=$x$x; done"]
      resources: { limits: { memory: 16Mi } }
`);
    await ok('run', file);
    const row = await waitFor('OOMKilled', async () => {
      const p = await podNamed(name);
      return p && p.status !== 'Running' && p.status !== 'ContainerCreating' ? p : undefined;
    }, 30_000);
    expect(row.status).toBe('OOMKilled');
    const ps = JSON.parse(await ok('ps', '-a', '-o', 'json')) as PsRowJson[];
    expect(ps.find((c) => c.podSandboxId === row.id)?.status).toBe('OOMKilled (137)');
    expect(await ok('ps', '-a', '--pod', name)).toContain('OOMKilled (137)');
    await ok('down', file);
  }, 60_000);

  it('counts READY per container and shows NotReady when one of two completed, Error when one failed', async () => {
    const { name, file } = await manifest('pair', (n) => `
apiVersion: v1
kind: Pod
metadata: { name: ${n} }
spec:
  terminationGracePeriodSeconds: 1 # busybox sleep/sh as PID 1 ignore SIGTERM
  restartPolicy: Never
  containers:
    - { name: web, image: ${IMAGE}, command: ["sleep", "3600"] }
    - { name: job, image: ${IMAGE}, command: ["true"] }
---
apiVersion: v1
kind: Pod
metadata: { name: ${n}-bad }
spec:
  terminationGracePeriodSeconds: 1 # busybox sleep/sh as PID 1 ignore SIGTERM
  restartPolicy: Never
  containers:
    - { name: web, image: ${IMAGE}, command: ["sleep", "3600"] }
    - { name: job, image: ${IMAGE}, command: ["sh", "-c", "exit 5"] }
`);
    await ok('run', file);
    const done = await waitFor('NotReady', async () => {
      const p = await podNamed(name);
      return p?.status === 'NotReady' ? p : undefined;
    }, 20_000);
    expect(done.ready).toBe('1/2');
    const bad = await waitFor('Error', async () => {
      const p = await podNamed(`${name}-bad`);
      return p?.status === 'Error' ? p : undefined;
    }, 20_000);
    expect(bad.ready).toBe('1/2');
    await ok('down', file);
  }, 60_000);

  it('restarts a crashed container at once the first time, then after the backoff, showing CrashLoopBackOff', async () => {
    const { name, file } = await manifest('crash', (n) => `
apiVersion: v1
kind: Pod
metadata: { name: ${n} }
spec:
  terminationGracePeriodSeconds: 1 # busybox sleep/sh as PID 1 ignore SIGTERM
  containers:
    - { name: app, image: ${IMAGE}, command: ["sh", "-c", "sleep 1; exit 1"] }
`);
    await ok('run', file);
    const started = Date.now();
    await waitFor('the first restart', async () => (((await podNamed(name))?.restarts ?? 0) >= 1 ? true : undefined), 20_000, 100);
    const firstRestart = Date.now();
    // 1 s of running, then no backoff: well under the 4 s base.
    expect(firstRestart - started).toBeLessThan(1000 + BACKOFF_BASE_MS - 1000);
    const waiting = await waitFor('CrashLoopBackOff', async () => {
      const p = await podNamed(name);
      return p?.status === 'CrashLoopBackOff' ? p : undefined;
    }, 20_000, 100);
    expect(waiting.restarts).toBe(1);
    expect(waiting.ready).toBe('0/1');
    await waitFor('the second restart', async () => (((await podNamed(name))?.restarts ?? 0) >= 2 ? true : undefined), 30_000, 100);
    // The second one waited out the base backoff after the 1 s run.
    expect(Date.now() - firstRestart).toBeGreaterThanOrEqual(1000 + BACKOFF_BASE_MS - 500);
    await ok('down', file);
  }, 60_000);
});

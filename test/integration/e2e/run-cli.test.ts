// The `keelson` binary itself against a daemon in temp dirs, on a per-run CNI network, with the
// demo image (scripts/build-demo-image.sh) imported: run, pods, ps, logs -f, inspect, down;
// restart policies with backoff, liveness and readiness probes, a Deployment, bad manifests,
// and the demo script's flow.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTestNetwork, writeNetworkConfig, type TestNetwork } from '../../fixtures/cni.js';
import { CLI_PATH, runCli, startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { freePort } from '../../fixtures/ports.js';
import { unmountAllUnder } from '../../fixtures/sandbox.js';
import { waitFor } from '../../fixtures/wait.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const IMAGE = 'localhost/keelson/demo:latest';
/** Fast backoff so restarts show within seconds. */
const SUPERVISOR_TOML = '[supervisor]\nbackoff_base_ms = 500\nbackoff_max_ms = 4000\ntick_ms = 100\n';
let daemon: KeelsonDaemon;
let net: TestNetwork;
let env: NodeJS.ProcessEnv;
let dir: string;
const children: ChildProcess[] = [];

interface PodRowJson {
  id: string;
  name: string;
  status: string;
  ready: string;
  restarts: number;
  ip: string;
  supervised: { ready: boolean; containers: Array<{ name: string; restarts: number; ready: boolean; backoffMs: number; state: string; lastProbe: { kind: string; ok: boolean } | null }> } | null;
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

async function manifest(name: string, text: string): Promise<string> {
  const path = join(dir, `${name}-${randomBytes(3).toString('hex')}.yaml`);
  await writeFile(path, text);
  return path;
}

beforeAll(async () => {
  daemon = await startKeelson({ configToml: SUPERVISOR_TOML });
  net = makeTestNetwork(daemon.base);
  await writeNetworkConfig(daemon.cniConfDir, net);
  dir = join(daemon.base, 'manifests');
  await mkdir(dir, { recursive: true });
  env = { KEELSON_SOCKET: daemon.socket, KEELSON_ROOT: daemon.root, KEELSON_LOG_ROOT: join(daemon.base, 'pod-logs') };
  const layout = join(daemon.base, 'demo-image');
  execFileSync(join(repo, 'scripts/build-demo-image.sh'), [layout], { stdio: 'ignore' });
  await ok('image', 'import', layout);
}, 120_000);

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
  // Each test removes its pods; this catches what a failed one left.
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

const twoContainers = `
apiVersion: v1
kind: Pod
metadata:
  name: duo
  labels: { app: duo }
spec:
  terminationGracePeriodSeconds: 1 # httpd and sleep as PID 1 ignore SIGTERM: down would wait 30 s
  initContainers:
    - name: prepare
      image: ${IMAGE}
      command: ["sh", "-c", "echo from-init > /shared/page; echo init-ran"]
      volumeMounts: [{ name: shared, mountPath: /shared }]
  containers:
    - name: web
      image: ${IMAGE}
      command: ["httpd", "-f", "-p", "80", "-h", "/shared"]
      volumeMounts: [{ name: shared, mountPath: /shared }]
    - name: ticker
      image: ${IMAGE}
      command: ["sh", "-c", "echo pod=$POD_NAME app=$APP ip=$POD_IP greeting=$(cat /etc/conf/greeting); for i in 1 2 3 4 5 6; do echo tick $i; sleep 1; done; sleep 3600"]
      env:
        - { name: POD_NAME, valueFrom: { fieldRef: { fieldPath: metadata.name } } }
        - { name: APP, valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } }
        - { name: POD_IP, valueFrom: { fieldRef: { fieldPath: status.podIP } } }
      volumeMounts:
        - { name: shared, mountPath: /shared }
        - { name: conf, mountPath: /etc/conf }
      resources: { limits: { memory: 64Mi, cpu: 500m } }
  volumes:
    - { name: shared, emptyDir: { medium: Memory, sizeLimit: 8Mi } }
    - { name: conf, configMap: { name: settings } }
`;

describe('keelson run', () => {
  it('runs a two-container pod after its init container; pods, ps, logs -f, inspect, -o json, down', async () => {
    const file = await manifest('duo', twoContainers);
    const confDir = join(dir, 'settings');
    await mkdir(confDir, { recursive: true });
    await writeFile(join(confDir, 'greeting'), 'hi-there');
    const out = await ok('run', file, '--configmap', `settings=${confDir}`, '-o', 'json');
    const started = JSON.parse(out) as Array<{ id: string; ip: string; containers: Array<{ name: string }> }>;
    expect(started).toHaveLength(1);
    expect(started[0]?.containers.map((c) => c.name)).toEqual(['web', 'ticker']);
    const ip = started[0]?.ip ?? '';
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

    const follow = spawn(process.execPath, [CLI_PATH, 'logs', '-f', 'ticker'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(follow);
    let followed = '';
    follow.stdout?.on('data', (d: Buffer) => (followed += d.toString()));
    await waitFor('tick 5 through logs -f', async () => (followed.includes('tick 5') ? true : undefined), 20_000);
    expect(followed).toContain(`pod=duo app=duo ip=${ip} greeting=hi-there`);
    expect(followed).not.toMatch(/stdout F/); // the CRI prefix is stripped

    const row = await waitFor('duo ready 2/2', async () => (await pods()).find((p) => p.name === 'duo' && p.ready === '2/2'));
    expect(row.status).toBe('Running');
    expect(row.restarts).toBe(0);
    const table = await ok('pods');
    expect(table).toMatch(/^POD ID\s+NAME\s+NAMESPACE\s+READY\s+STATUS\s+RESTARTS\s+IP\s+AGE$/m);
    expect(table).toMatch(/duo\s+default\s+2\/2\s+Running\s+0/);

    const ps = JSON.parse(await ok('ps', '-a', '-o', 'json')) as Array<{ metadata: { name: string }; state: string }>;
    expect(ps.map((c) => `${c.metadata.name}:${c.state}`).sort()).toEqual(['prepare:CONTAINER_EXITED', 'ticker:CONTAINER_RUNNING', 'web:CONTAINER_RUNNING']);
    expect(await ok('logs', 'prepare')).toBe('init-ran\n');
    expect(await ok('logs', '--tail', '1', '--timestamps', 'duo/prepare')).toMatch(/^\S+ stdout init-ran\n$/);

    const page = execFileSync('timeout', ['5', 'busybox', 'wget', '-q', '-O', '-', `http://${ip}/page`], { encoding: 'utf8' });
    expect(page).toBe('from-init\n');

    const inspected = JSON.parse(await ok('inspect', 'duo')) as { kind: string; podSpec: { spec: { restartPolicy: string } }; supervisor: { ready: boolean } };
    expect(inspected.kind).toBe('pod');
    expect(inspected.podSpec.spec.restartPolicy).toBe('Always');
    const container = JSON.parse(await ok('inspect', 'ticker')) as { kind: string; status: { metadata: { name: string } } };
    expect(container.status.metadata.name).toBe('ticker');
    const yaml = await ok('pods', '-o', 'yaml');
    expect(yaml).toMatch(/name: duo/);

    const volumes = join(daemon.root, 'pod-volumes');
    expect(readdirSync(volumes)).toHaveLength(1);
    expect(await ok('down', file)).toMatch(/removed pod default\/duo/);
    expect(await pods()).toEqual([]);
    expect(readdirSync(volumes)).toEqual([]);
    expect(readdirSync(env.KEELSON_LOG_ROOT ?? '')).toEqual([]);
  }, 90_000);

  it('restarts a crashing container with growing backoff (OnFailure) and leaves it alone with Never', async () => {
    const file = await manifest('crash', `
apiVersion: v1
kind: Pod
metadata: { name: crasher }
spec:
  restartPolicy: OnFailure
  containers:
    - { name: app, image: ${IMAGE}, command: ["sh", "-c", "echo crashing; exit 3"] }
---
apiVersion: v1
kind: Pod
metadata: { name: once }
spec:
  restartPolicy: Never
  containers:
    - { name: app, image: ${IMAGE}, command: ["sh", "-c", "exit 4"] }
`);
    await ok('run', file);
    const row = await waitFor('two restarts', async () => (await pods()).find((p) => p.name === 'crasher' && p.restarts >= 2), 30_000);
    const c = row.supervised?.containers[0];
    expect(c?.backoffMs).toBeGreaterThanOrEqual(1000); // 500 ms, then doubled
    const crashing = await waitFor('CrashLoopBackOff', async () => (await pods()).find((p) => p.name === 'crasher' && p.status === 'CrashLoopBackOff'));
    expect(crashing.ready).toBe('0/1');
    const once = (await pods()).find((p) => p.name === 'once');
    expect(once?.restarts).toBe(0);
    expect(once?.status).toBe('Error');
    expect(await ok('logs', 'crasher/app')).toBe('crashing\n');

    // A restarted daemon resumes supervising: the restart count keeps growing from where it was.
    const before = (await pods()).find((p) => p.name === 'crasher')?.restarts ?? 0;
    await daemon.stop();
    daemon = await startKeelson({ base: daemon.base, configToml: SUPERVISOR_TOML });
    await waitFor('a restart after the daemon restart', async () => (await pods()).find((p) => p.name === 'crasher' && p.restarts > before), 30_000);
    await ok('down', file);
    expect(await pods()).toEqual([]);
  }, 60_000);

  it('a failing liveness probe restarts the container; readiness flips', async () => {
    const file = await manifest('probes', `
apiVersion: v1
kind: Pod
metadata: { name: probed }
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: live
      image: ${IMAGE}
      command: ["sleep", "3600"]
      livenessProbe: { exec: { command: ["test", "-f", "/tmp/alive"] }, periodSeconds: 1, failureThreshold: 2 }
    - name: flip
      image: ${IMAGE}
      command: ["sh", "-c", "mkdir /www; echo ok > /www/index.html; httpd -p 8081 -h /www; sleep 3; rm /www/index.html; sleep 3600"]
      readinessProbe: { httpGet: { path: /index.html, port: 8081 }, periodSeconds: 1, failureThreshold: 1 }
`);
    await ok('run', file);
    const ready = await waitFor('flip ready', async () => (await pods()).find((p) => p.supervised?.containers.find((c) => c.name === 'flip')?.ready));
    expect(ready.name).toBe('probed');
    const notReady = await waitFor('flip not ready', async () => (await pods()).find((p) => p.supervised?.containers.find((c) => c.name === 'flip' && !c.ready && c.state === 'running')));
    expect(notReady.supervised?.containers.find((c) => c.name === 'flip')?.lastProbe?.ok).toBe(false);
    const restarted = await waitFor('live restarted', async () => (await pods()).find((p) => (p.supervised?.containers.find((c) => c.name === 'live')?.restarts ?? 0) >= 1), 30_000);
    expect(restarted.supervised?.containers.find((c) => c.name === 'flip')?.restarts).toBe(0);
    const ps = JSON.parse(await ok('ps', '-a', '-o', 'json')) as Array<{ metadata: { name: string; attempt: number } }>;
    // The old attempt is removed once the new one runs, as kubelet does.
    expect(ps.filter((c) => c.metadata.name === 'live').map((c) => c.metadata.attempt).every((a) => a >= 1)).toBe(true);
    await ok('down', file);
  }, 60_000);

  it('runs a Deployment as 3 pods and refuses bad manifests naming the field path', async () => {
    const file = await manifest('deploy', `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 3
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      terminationGracePeriodSeconds: 1 # sleep as PID 1 ignores SIGTERM
      containers: [{ name: app, image: ${IMAGE}, command: ["sleep", "3600"] }]
`);
    const out = await ok('run', file, '-q');
    expect(out.trim().split('\n')).toHaveLength(3);
    const names = (await pods()).map((p) => p.name).sort();
    expect(names).toEqual(['web-0', 'web-1', 'web-2']);
    const stats = JSON.parse(await ok('stats', '--no-stream', '-o', 'json')) as Array<{ pod: string; memoryBytes: number }>;
    expect(stats.map((s) => s.pod).sort()).toEqual(['web-0', 'web-1', 'web-2']);
    expect(stats.every((s) => s.memoryBytes > 0)).toBe(true);
    expect(await ok('stop', 'web-0')).toMatch(/stopped pod web-0/);
    expect((await pods()).find((p) => p.name === 'web-0')?.status).toBe('Stopped');
    const ambiguous = await cli('logs', 'app');
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toMatch(/"app" matches 3 containers/);
    expect(await ok('rm', 'web-0')).toMatch(/removed pod web-0/);
    expect((await ok('down', file)).trim().split('\n')).toHaveLength(2);

    const bad = await manifest('bad', `
apiVersion: v1
kind: Pod
metadata: { name: bad }
spec:
  containers: [{ name: app, image: ${IMAGE}, ports: [{ containerPort: "eighty" }] }]
`);
    const r = await cli('run', bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/document 1 \(Pod bad\).*spec\.containers\[0\]\.ports\[0\]\.containerPort/);
    const csi = await manifest('csi', `
apiVersion: v1
kind: Pod
metadata: { name: csi }
spec:
  containers: [{ name: app, image: ${IMAGE} }]
  volumes: [{ name: v, csi: { driver: example.csi } }]
`);
    const r2 = await cli('run', csi);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain('no CSI plugin named "example.csi"');
    expect(JSON.parse((await cli('pods', '-o', 'json')).stdout)).toEqual([]);

    // A failing init container with restartPolicy Never fails the run; the pod is kept (as
    // kubelet keeps it) as Init:Error until down, which removes it and its volumes.
    const init = await manifest('init', `
apiVersion: v1
kind: Pod
metadata: { name: initfail }
spec:
  restartPolicy: Never
  initContainers: [{ name: setup, image: ${IMAGE}, command: ["sh", "-c", "exit 7"], volumeMounts: [{ name: v, mountPath: /v }] }]
  containers: [{ name: app, image: ${IMAGE}, command: ["sleep", "3600"] }]
  volumes: [{ name: v, emptyDir: {} }]
`);
    const r3 = await cli('run', init);
    expect(r3.code).toBe(1);
    expect(r3.stderr).toMatch(/init container setup of pod default\/initfail exited with code 7 \(restartPolicy Never\)/);
    expect((await pods()).map((p) => [p.name, p.status])).toEqual([['initfail', 'Init:Error']]);
    await ok('down', init);
    expect(await pods()).toEqual([]);
    expect(readdirSync(join(daemon.root, 'pod-volumes'))).toEqual([]);
  }, 60_000);

  it('runs the demo flow: examples/hello.yaml on a free hostPort prints the page', async () => {
    const port = await freePort();
    const text = readFileSync(join(repo, 'examples/hello.yaml'), 'utf8').replace('hostPort: 8080', `hostPort: ${port}`);
    const file = await manifest('hello', text);
    const out = execFileSync('bash', [join(repo, 'scripts/demo.sh')], {
      env: { ...process.env, ...env, DEMO_SKIP_SETUP: '1', DEMO_MANIFEST: file }, encoding: 'utf8', timeout: 120_000,
    });
    expect(out).toContain('Hello from a keelson pod!');
    expect(out).toMatch(/removed pod default\/hello/);
    expect(existsSync(join(daemon.root, 'pod-volumes')) ? readdirSync(join(daemon.root, 'pod-volumes')) : []).toEqual([]);
  }, 150_000);
});

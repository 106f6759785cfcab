// The shape of the `keelson` CLI, through the binary against a daemon in temp dirs: logs keep
// stdout and stderr apart (partial lines joined per stream, in `logs` and `run -f`), `logs -p`,
// exec/logs on a pod name with -c, -n on run and the pod commands, global options before the
// command, the daemon's root dir asked of it, and camelCase keys in every JSON output.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
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
const SUPERVISOR_TOML = '[supervisor]\nbackoff_base_ms = 500\nbackoff_max_ms = 4000\ntick_ms = 100\n';
const suffix = randomBytes(3).toString('hex');
let daemon: KeelsonDaemon;
let net: TestNetwork;
/** Only the log root: the socket is given as a global option, the root is asked of the daemon. */
let env: NodeJS.ProcessEnv;
let dir: string;
const children: ChildProcess[] = [];

type Result = { code: number | null; stdout: string; stderr: string };
const cli = (...args: string[]): Promise<Result> => runCli(['--socket', daemon.socket, ...args], env);

async function ok(...args: string[]): Promise<string> {
  const r = await cli(...args);
  if (r.code !== 0) throw new Error(`keelson ${args.join(' ')} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

async function manifest(name: string, text: string): Promise<string> {
  const path = join(dir, `${name}.yaml`);
  await writeFile(path, text);
  return path;
}

/** Keys in snake_case outside the maps whose keys are the user's. */
function snakeKeys(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => snakeKeys(v, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => [
    ...(/^[a-z][a-z0-9]*(_[a-z0-9]+)+$/.test(k) ? [`${path}.${k}`] : []),
    ...(['labels', 'annotations', 'podSpec', 'sysctl', 'sysctls'].includes(k) ? [] : snakeKeys(v, `${path}.${k}`)),
  ]);
}

beforeAll(async () => {
  daemon = await startKeelson({ configToml: SUPERVISOR_TOML });
  net = makeTestNetwork(daemon.base);
  await writeNetworkConfig(daemon.cniConfDir, net);
  dir = join(daemon.base, 'manifests');
  await mkdir(dir, { recursive: true });
  env = { KEELSON_LOG_ROOT: join(daemon.base, 'pod-logs') };
  const layout = join(daemon.base, 'demo-image');
  execFileSync(join(repo, 'scripts/build-demo-image.sh'), [layout], { stdio: 'ignore' });
  await ok('image', 'import', layout);
}, 120_000);

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
  const left = JSON.parse((await cli('pods', '-o', 'json')).stdout || '[]') as Array<{ id: string }>;
  for (const p of left) await cli('rm', p.id);
});

afterAll(async () => {
  if (daemon) {
    await daemon.stop();
    unmountAllUnder(daemon.base);
    await daemon.destroy();
  }
  net?.cleanup();
});

describe('keelson CLI shape', () => {
  it('keeps stdout and stderr apart with partial lines joined per stream (logs, run -f); logs and exec take a pod name and -c', async () => {
    const pod = `talk-${suffix}`;
    const file = await manifest(pod, `
apiVersion: v1
kind: Pod
metadata: { name: ${pod} }
spec:
  terminationGracePeriodSeconds: 1 # busybox sleep/sh as PID 1 ignore SIGTERM
  containers:
    - name: talker
      image: ${IMAGE}
      env: [{ name: WHO, value: talker }]
      command: ["sh", "-c", "printf out-; sleep 0.5; printf err- >&2; sleep 0.5; printf 'one\\\\n' >&2; sleep 0.5; printf 'two\\\\n'; exec sleep 3600"]
    - name: quiet
      image: ${IMAGE}
      env: [{ name: WHO, value: quiet }]
      command: ["sleep", "3600"]
`);
    const run = spawn(process.execPath, [CLI_PATH, '--socket', daemon.socket, 'run', '-f', file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(run);
    let out = '';
    let err = '';
    run.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    run.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    await waitFor('run -f to print the stdout line', async () => (out.includes('two') ? true : undefined), 30_000);
    await waitFor('run -f to print the stderr line', async () => (err.includes('one') ? true : undefined), 5_000);
    expect(out).toContain('talker | out-two\n');
    expect(err).toContain('talker | err-one\n');
    expect(out).not.toContain('one');
    expect(err).not.toContain('two');

    // The file really holds partial pieces of both streams, interleaved.
    const inspected = JSON.parse(await ok('inspect', `${pod}/talker`)) as { status: { logPath: string } };
    const raw = readFileSync(inspected.status.logPath, 'utf8');
    expect(raw).toMatch(/ stdout P out-\n.* stderr P err-\n/s);

    // A pod name: its first container, said on stderr as kubectl does.
    const logs = await cli('logs', pod);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toBe('out-two\n');
    expect(logs.stderr).toBe('Defaulted container "talker" out of: talker, quiet\nerr-one\n');
    const quiet = await cli('logs', pod, '-c', 'quiet');
    expect(quiet).toEqual({ code: 0, stdout: '', stderr: '' });
    const missing = await cli('logs', pod, '-c', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`pod default/${pod} has no container "nope" (containers: talker, quiet)`);

    const exec = await cli('exec', pod, '--', 'sh', '-c', 'echo $WHO');
    expect(exec.stdout).toBe('talker\n');
    expect(exec.code).toBe(0);
    expect((await cli('exec', pod, '-c', 'quiet', '--', 'sh', '-c', 'echo $WHO')).stdout).toBe('quiet\n');
    expect((await cli('exec', `${pod}/quiet`, '--', 'sh', '-c', 'echo $WHO')).stdout).toBe('quiet\n');

    const never = await cli('logs', '-p', pod, '-c', 'quiet');
    expect(never.code).toBe(1);
    expect(never.stderr).toContain(`previous terminated container "quiet" in pod "${pod}" not found`);
    await ok('down', file);
  });

  it('logs --previous prints the terminated instance before the newest; --root still overrides, deprecated', async () => {
    const pod = `again-${suffix}`;
    const file = await manifest(pod, `
apiVersion: v1
kind: Pod
metadata: { name: ${pod} }
spec:
  terminationGracePeriodSeconds: 1 # busybox sleep/sh as PID 1 ignore SIGTERM
  restartPolicy: Always
  containers:
    - name: app
      image: ${IMAGE}
      command: ["sh", "-c", "n=$(cat /d/n 2>/dev/null || echo 0); echo run-$n; echo $((n+1)) > /d/n; [ $n -ge 1 ] && exec sleep 3600; printf tail-$n; exit 3"]
      volumeMounts: [{ name: d, mountPath: /d }]
  volumes: [{ name: d, emptyDir: {} }]
`);
    const started = await cli('run', file, '--root', daemon.root);
    expect(started.code).toBe(0);
    expect(started.stderr).toContain('--root is deprecated');
    await waitFor('the second instance to log', async () => ((await cli('logs', pod)).stdout === 'run-1\n' ? true : undefined), 30_000);
    // The last line, without its newline, is printed as it was written.
    expect(await ok('logs', '--previous', pod)).toBe('run-0\ntail-0');
    expect(await ok('logs', '-p', `${pod}/app`)).toBe('run-0\ntail-0');
    await ok('down', file);
  });

  it('-n on run and the pod commands, global options before the command, the root dir from the daemon, camelCase JSON', async () => {
    const ns = `ns-${suffix}`;
    const pod = `spaced-${suffix}`;
    const file = await manifest(pod, `
apiVersion: v1
kind: Pod
metadata: { name: ${pod} }
spec:
  terminationGracePeriodSeconds: 1 # busybox sleep/sh as PID 1 ignore SIGTERM
  containers: [{ name: app, image: ${IMAGE}, command: ["sh", "-c", "echo hello-${suffix}; exec sleep 3600"], volumeMounts: [{ name: scratch, mountPath: /scratch }] }]
  volumes: [{ name: scratch, emptyDir: {} }]
`);
    // `--socket` and `-n` before the command (the program's), no KEELSON_ROOT: the daemon says where its root is.
    const run = await runCli(['--socket', daemon.socket, '-n', ns, 'run', file, '-o', 'json'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const started = JSON.parse(run.stdout) as Array<{ namespace: string; logDirectory: string }>;
    expect(started.map((p) => p.namespace)).toEqual([ns]);
    expect(snakeKeys(started)).toEqual([]);
    expect(readdirSync(join(daemon.root, 'pod-volumes')).filter((d) => d.startsWith(`${ns}_${pod}_`))).toHaveLength(1);

    const inNs = JSON.parse(await ok('pods', '-n', ns, '-o', 'json')) as Array<{ name: string; namespace: string; createdAt: string }>;
    expect(inNs.map((p) => `${p.namespace}/${p.name}`)).toEqual([`${ns}/${pod}`]);
    expect(JSON.parse(await ok('pods', '-n', 'default', '-o', 'json'))).toEqual([]);
    // After the command too, as kubectl.
    expect(await runCli(['pods', '--socket', daemon.socket, '-n', ns, '-q'], env)).toMatchObject({ code: 0, stdout: expect.stringMatching(/^[0-9a-f]{64}\n$/) });

    await waitFor('the pod to log', async () => ((await cli('-n', ns, 'logs', pod)).stdout === `hello-${suffix}\n` ? true : undefined), 20_000);
    const elsewhere = await cli('logs', '-n', 'default', pod);
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toContain(`no pod or container named or with an id starting "${pod}" in namespace "default"`);
    expect((await cli('exec', '-n', ns, pod, '--', 'echo', 'in')).stdout).toBe('in\n');

    const ps = JSON.parse(await ok('ps', '-n', ns, '-o', 'json')) as Array<{ podSandboxId: string; createdAt: string; metadata: { name: string } }>;
    expect(ps.map((c) => c.metadata.name)).toEqual(['app']);
    expect(ps[0]?.podSandboxId).toMatch(/^[0-9a-f]{64}$/);
    expect(snakeKeys(ps)).toEqual([]);
    expect(JSON.parse(await ok('ps', '-n', 'default', '-o', 'json'))).toEqual([]);
    const inspected = JSON.parse(await ok('inspect', '-n', ns, pod)) as { status: { createdAt: string } };
    expect(inspected.status.createdAt).toBeTruthy();
    expect(snakeKeys(inspected)).toEqual([]);
    expect(snakeKeys(JSON.parse(await ok('inspect', '-n', ns, `${pod}/app`)))).toEqual([]);
    const images = JSON.parse(await ok('images', '-o', 'json')) as Array<{ repoTags: string[] }>;
    expect(images.flatMap((i) => i.repoTags)).toContain(IMAGE);
    expect(snakeKeys(images)).toEqual([]);
    expect(snakeKeys(JSON.parse(await ok('stats', '--no-stream', '-n', ns, '-o', 'json')))).toEqual([]);

    // A pod naming another namespace than -n is refused, as kubectl does.
    const other = await manifest(`other-${suffix}`, `
apiVersion: v1
kind: Pod
metadata: { name: other-${suffix}, namespace: elsewhere }
spec: { terminationGracePeriodSeconds: 1, containers: [{ name: app, image: ${IMAGE}, command: ["sleep", "3600"] }] }
`);
    const refused = await cli('run', '-n', ns, other);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`the namespace from the provided object "elsewhere" does not match the namespace "${ns}"`);

    const notHere = await cli('rm', '-n', 'default', pod);
    expect(notHere.code).toBe(1);
    expect(notHere.stderr).toContain(`in namespace "default"`);
    expect(await ok('-n', ns, 'down', file)).toContain(`removed pod ${ns}/${pod}`);
    expect(JSON.parse(await ok('pods', '-o', 'json'))).toEqual([]);
  });
});

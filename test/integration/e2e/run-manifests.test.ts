// `keelson run` on manifests as the Kubernetes docs write them, through the real binary and a
// daemon in temp dirs: a multi-document file (ConfigMap, Secret, Service, Pod) whose data the
// container sees, a PersistentVolumeClaim bound to a local dir that outlives `down`, misspelt
// fields refused before anything runs, and imagePullPolicy Always pulling a tag already present.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTestNetwork, writeNetworkConfig, type TestNetwork } from '../../fixtures/cni.js';
import { runCli, startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { buildImage, DEFAULT_PATH_ENV } from '../../fixtures/image-builder.js';
import { startRegistry, type Registry } from '../../fixtures/registry.js';
import { unmountAllUnder } from '../../fixtures/sandbox.js';
import { waitFor } from '../../fixtures/wait.js';

let daemon: KeelsonDaemon;
let registry: Registry;
let net: TestNetwork;
let env: NodeJS.ProcessEnv;
let dir: string;
let image: string;
const suffix = randomBytes(3).toString('hex');
const b64 = (s: string): string => Buffer.from(s).toString('base64');

async function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(args, env);
}

async function ok(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const r = await cli(...args);
  if (r.code !== 0) throw new Error(`keelson ${args.join(' ')} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r;
}

async function manifest(name: string, text: string): Promise<string> {
  const path = join(dir, `${name}-${randomBytes(3).toString('hex')}.yaml`);
  await writeFile(path, text);
  return path;
}

/** The log of pod/container once it has printed `until`. */
function logOnce(ref: string, until: string): Promise<string> {
  return waitFor(`${until} in the log of ${ref}`, async () => {
    const r = await cli('logs', ref);
    return r.code === 0 && r.stdout.includes(until) ? r.stdout : undefined;
  }, 30_000);
}

beforeAll(async () => {
  registry = await startRegistry();
  const repo = `e2e/manifests-${suffix}`;
  await registry.push(repo, await buildImage(), 'v1');
  image = `${registry.host}/${repo}:v1`;
  daemon = await startKeelson();
  net = makeTestNetwork(daemon.base);
  await writeNetworkConfig(daemon.cniConfDir, net);
  dir = join(daemon.base, 'manifests');
  await mkdir(dir, { recursive: true });
  env = { KEELSON_SOCKET: daemon.socket, KEELSON_ROOT: daemon.root, KEELSON_LOG_ROOT: join(daemon.base, 'pod-logs') };
  await ok('pull', image);
}, 120_000);

afterEach(async () => {
  // Each test removes its pods; this catches what a failed one left.
  const listed = await cli('pods', '-o', 'json');
  const pods = listed.code === 0 ? (JSON.parse(listed.stdout) as Array<{ id: string }>) : [];
  for (const p of pods) await cli('rm', p.id);
});

afterAll(async () => {
  if (daemon) {
    await daemon.stop();
    unmountAllUnder(daemon.base);
    await daemon.destroy();
  }
  net?.cleanup();
  await registry?.stop();
});

describe('keelson run on manifests of the Kubernetes docs', () => {
  it('runs a Pod beside its ConfigMap, Secret and Service, and the container sees their data', async () => {
    const pod = `game-${suffix}`;
    const file = await manifest('docs', `apiVersion: v1
kind: ConfigMap
metadata:
  name: game-demo
data:
  player_initial_lives: "3"
  game.properties: |
    enemy.types=aliens,monsters
binaryData:
  motd: ${b64('hello from binaryData')}
---
apiVersion: v1
kind: Secret
metadata:
  name: demo-credentials
type: Opaque
data:
  username: ${b64('admin')}
stringData:
  password: "s3cr3t"
---
apiVersion: v1
kind: Service
metadata:
  name: game-svc
spec:
  selector: { app: game }
  ports: [{ protocol: TCP, port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: Pod
metadata:
  name: ${pod}
  labels: { app: game }
spec:
  serviceAccountName: game-sa
  containers:
    - name: demo
      image: ${image}
      command: ["sh", "-c", "echo lives=$PLAYER_INITIAL_LIVES user=$USERNAME; cat /config/game.properties /config/motd; echo; cat /creds/password; echo; echo done; sleep 3600"]
      env:
        - name: PLAYER_INITIAL_LIVES
          valueFrom: { configMapKeyRef: { name: game-demo, key: player_initial_lives } }
        - name: USERNAME
          valueFrom: { secretKeyRef: { name: demo-credentials, key: username } }
      volumeMounts:
        - { name: config, mountPath: /config, readOnly: true }
        - { name: creds, mountPath: /creds, readOnly: true }
  volumes:
    - name: config
      configMap: { name: game-demo }
    - name: creds
      secret: { secretName: demo-credentials }
`);
    const run = await ok('run', file);
    expect(run.stderr).toContain('Service game-svc: skipped; keelson has no service proxy, use hostPort or `keelson port-forward`');
    expect(run.stderr).toMatch(/warning: .*spec\.serviceAccountName is ignored: keelson runs pods without service accounts/);
    const log = await logOnce(`${pod}/demo`, 'done');
    expect(log).toContain('lives=3 user=admin');
    expect(log).toContain('enemy.types=aliens,monsters');
    expect(log).toContain('hello from binaryData');
    expect(log).toContain('s3cr3t');

    // A --configmap flag of the same name is used instead of the file's ConfigMap.
    await ok('down', file);
    const flagDir = join(dir, `flag-${suffix}`);
    await mkdir(flagDir, { recursive: true });
    await writeFile(join(flagDir, 'player_initial_lives'), '9');
    await writeFile(join(flagDir, 'game.properties'), 'from-the-flag\n');
    await writeFile(join(flagDir, 'motd'), 'flag motd');
    const again = await ok('run', file, '--configmap', `game-demo=${flagDir}`);
    expect(again.stderr).toMatch(/note: configMap game-demo: --configmap game-demo=\.\.\. is used instead of .*document 1 \(ConfigMap game-demo\)/);
    const flagged = await logOnce(`${pod}/demo`, 'done');
    expect(flagged).toContain('lives=9 user=admin');
    expect(flagged).toContain('from-the-flag');
    await ok('down', file);
  }, 120_000);

  it('binds a PersistentVolumeClaim of the file to a local dir that outlives down', async () => {
    const claim = `data-${suffix}`;
    const pod = `writer-${suffix}`;
    const file = await manifest('pvc', `apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: ${claim} }
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  resources: { requests: { storage: 1Gi } }
---
apiVersion: v1
kind: Pod
metadata: { name: ${pod} }
spec:
  containers:
    - name: w
      image: ${image}
      command: ["sh", "-c", "cat /data/count 2>/dev/null || echo none; echo run >> /data/count; echo done; sleep 3600"]
      volumeMounts: [{ name: store, mountPath: /data }]
  volumes:
    - name: store
      persistentVolumeClaim: { claimName: ${claim} }
`);
    const local = join(daemon.root, 'volumes', `default_${claim}`);
    try {
      const first = await ok('run', file);
      expect(first.stderr).toMatch(/warning: .*\(PersistentVolumeClaim data-\w+\): storageClassName "manual" is not a CSI plugin of the daemon .*; using a local dir/);
      expect(await logOnce(`${pod}/w`, 'done')).toContain('none');
      await ok('down', file);
      expect(readFileSync(join(local, 'count'), 'utf8')).toBe('run\n');
      await ok('run', file);
      const second = await logOnce(`${pod}/w`, 'done');
      expect(second).toContain('run');
      expect(second).not.toContain('none');
      await ok('down', file);
      expect(readFileSync(join(local, 'count'), 'utf8')).toBe('run\nrun\n');
    } finally {
      await rm(local, { recursive: true, force: true });
    }
  }, 120_000);

  it('refuses misspelt fields of every document, naming each path with a suggestion, and runs nothing', async () => {
    const pod = `typo-${suffix}`;
    const file = await manifest('typo', `apiVersion: v1
kind: Pod
metadata:
  name: ${pod}
  lables: { app: typo }
spec:
  containers:
    - name: c
      image: ${image}
      comand: ["sh", "-c", "sleep 3600"]
---
apiVersion: v1
kind: ConfigMap
metadata: { name: cm }
dat: { a: b }
`);
    const r = await cli('run', file);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`document 1 (Pod ${pod}): unknown field "metadata.lables" (did you mean "labels"?)`);
    expect(r.stderr).toContain(`document 1 (Pod ${pod}): unknown field "spec.containers[0].comand" (did you mean "command"?)`);
    expect(r.stderr).toContain('document 2 (ConfigMap cm): unknown field "dat" (did you mean "data"?)');
    const listed = JSON.parse((await ok('pods', '-o', 'json')).stdout) as Array<{ name: string }>;
    expect(listed.map((p) => p.name)).not.toContain(pod);
  }, 60_000);

  it('pulls with imagePullPolicy Always even when the tag is present, and not with the default IfNotPresent', async () => {
    const repo = `e2e/always-${suffix}`;
    const tagged = `${registry.host}/${repo}:latest`;
    const marked = (mark: string) => buildImage({ config: { Env: [DEFAULT_PATH_ENV, `MARK=${mark}`] } });
    await registry.push(repo, await marked('first'), 'latest');
    await ok('pull', tagged);
    // The tag moves on in the registry; the node still has the first image under it.
    await registry.push(repo, await marked('second'), 'latest');
    const podFile = async (name: string, policy: string) => manifest(name, `apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  containers:
    - name: c
      image: ${tagged}
${policy}      command: ["sh", "-c", "echo mark=$MARK; sleep 3600"]
`);
    const lazy = await podFile(`lazy-${suffix}`, '');
    await ok('run', lazy);
    expect(await logOnce(`lazy-${suffix}/c`, 'mark=')).toContain('mark=first');
    await ok('down', lazy);

    const eager = await podFile(`eager-${suffix}`, '      imagePullPolicy: Always\n');
    const r = await ok('run', eager);
    expect(r.stderr).toContain(`pulling ${tagged}`);
    expect(await logOnce(`eager-${suffix}/c`, 'mark=')).toContain('mark=second');
    await ok('down', eager);
  }, 120_000);
});

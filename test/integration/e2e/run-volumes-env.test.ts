// The `keelson` binary against a real daemon: $(VAR) expansion in env, command and args;
// fsGroup on emptyDir and secret volumes for a non-root pod; downwardAPI and projected volumes.
// The manifests are the shapes of the Kubernetes docs' examples.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTestNetwork, writeNetworkConfig, type TestNetwork } from '../../fixtures/cni.js';
import { runCli, startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { unmountAllUnder } from '../../fixtures/sandbox.js';
import { waitFor } from '../../fixtures/wait.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const IMAGE = 'localhost/keelson/demo:latest';
let daemon: KeelsonDaemon;
let net: TestNetwork;
let env: NodeJS.ProcessEnv;
let dir: string;

async function ok(...args: string[]): Promise<string> {
  const r = await runCli(args, env);
  if (r.code !== 0) throw new Error(`keelson ${args.join(' ')} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

async function manifest(text: string): Promise<string> {
  const path = join(dir, `m-${randomBytes(3).toString('hex')}.yaml`);
  await writeFile(path, text);
  return path;
}

/** The logs of a container once they end with the marker line the test's script prints last. */
async function logsUntil(ref: string, marker = 'END'): Promise<string> {
  return waitFor(`${ref} to print ${marker}`, async () => {
    const out = await ok('logs', ref);
    return out.includes(`${marker}\n`) ? out : undefined;
  }, 60_000);
}

beforeAll(async () => {
  daemon = await startKeelson();
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
  // Each test removes its pods; this catches what a failed one left.
  const left = JSON.parse(await ok('pods', '-o', 'json').catch(() => '[]')) as Array<{ id: string }>;
  for (const p of left) await runCli(['rm', p.id], env);
});

afterAll(async () => {
  if (daemon) {
    await daemon.stop();
    unmountAllUnder(daemon.base);
    await daemon.destroy();
  }
  net?.cleanup();
});

describe('keelson run: env expansion and volumes as kubelet', () => {
  it('expands $(VAR) in env values, command and args (dependent-envars.yaml, the commands/args page)', async () => {
    const file = await manifest(`
apiVersion: v1
kind: Pod
metadata: { name: dependent-envars-demo }
spec:
  restartPolicy: Never
  containers:
    - name: dependent-envars-demo
      image: ${IMAGE}
      command: [sh, -c]
      args: ['printf "%s\\n" "$SERVICE_ADDRESS" "$UNCHANGED_REFERENCE" "$ESCAPED_REFERENCE" "$(GREETING)"; echo END']
      env:
        - { name: SERVICE_PORT, value: "80" }
        - { name: SERVICE_IP, value: "172.17.0.1" }
        - { name: UNCHANGED_REFERENCE, value: "$(PROTOCOL)://$(SERVICE_IP):$(SERVICE_PORT)" }
        - { name: PROTOCOL, value: "https" }
        - { name: SERVICE_ADDRESS, value: "$(PROTOCOL)://$(SERVICE_IP):$(SERVICE_PORT)" }
        - { name: ESCAPED_REFERENCE, value: "$$(PROTOCOL)://$(SERVICE_IP):$(SERVICE_PORT)" }
        - { name: GREETING, value: "Warm greetings to" }
    - name: echo
      image: ${IMAGE}
      command: ["/bin/echo"]
      args: ["$(MESSAGE)", "$(UNDEFINED)", "$$(MESSAGE)", "END"]
      env: [{ name: MESSAGE, value: "hello world" }]
`);
    await ok('run', file);
    expect(await logsUntil('dependent-envars-demo/dependent-envars-demo')).toBe(
      'https://172.17.0.1:80\n$(PROTOCOL)://172.17.0.1:80\n$(PROTOCOL)://172.17.0.1:80\nWarm greetings to\nEND\n',
    );
    expect(await logsUntil('dependent-envars-demo/echo')).toBe('hello world $(UNDEFINED) $(MESSAGE) END\n');
    await ok('down', file);
  }, 120_000);

  it('gives emptyDir and secret volumes to fsGroup for a non-root pod', async () => {
    const secretDir = join(dir, `secret-${randomBytes(3).toString('hex')}`);
    await mkdir(secretDir);
    await writeFile(join(secretDir, 'password'), 's3cret');
    const file = await manifest(`
apiVersion: v1
kind: Pod
metadata: { name: security-context-demo }
spec:
  restartPolicy: Never
  securityContext: { runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000 }
  containers:
    - name: sec-ctx-demo
      image: ${IMAGE}
      command: [sh, -c, 'id -u; echo hi > /data/demo/testfile && stat -c "%g %a" /data/demo /data/demo/testfile; cat /etc/creds/password; echo; stat -L -c "%u %g %a" /etc/creds/password; echo END']
      volumeMounts:
        - { name: sec-ctx-vol, mountPath: /data/demo }
        - { name: creds, mountPath: /etc/creds }
  volumes:
    - { name: sec-ctx-vol, emptyDir: {} }
    - { name: creds, secret: { secretName: creds, defaultMode: 0440 } }
`);
    await ok('run', file, '--secret', `creds=${secretDir}`);
    // The file a container makes in the setgid emptyDir has the fsGroup; uid 1000 reads the 0440 secret through it.
    expect(await logsUntil('security-context-demo/sec-ctx-demo')).toBe('1000\n2000 2777\n2000 644\ns3cret\n0 2000 440\nEND\n');
    await ok('down', file);
  }, 120_000);

  it('writes downwardAPI and projected volumes, skipping a serviceAccountToken source with a warning', async () => {
    const cmDir = join(dir, `cm-${randomBytes(3).toString('hex')}`);
    await mkdir(cmDir);
    await writeFile(join(cmDir, 'config'), 'cfg');
    const file = await manifest(`
apiVersion: v1
kind: Pod
metadata:
  name: kubernetes-downwardapi-volume-example
  labels: { zone: us-est-coast, cluster: test-cluster1, rack: rack-22 }
  annotations: { build: two, builder: john-doe }
spec:
  restartPolicy: Never
  containers:
    - name: client-container
      image: ${IMAGE}
      command: [sh, -c, 'cat /etc/podinfo/labels; echo; cat /etc/podinfo/annotations; echo; for f in /etc/podinfo/cpu_limit /etc/podinfo/mem_request /projected-volume/name /projected-volume/my-group/my-config; do cat $f; echo; done; touch /etc/podinfo/x 2>/dev/null || echo read-only; echo END']
      resources: { requests: { cpu: 250m, memory: 32Mi }, limits: { cpu: 500m, memory: 64Mi } }
      volumeMounts:
        - { name: podinfo, mountPath: /etc/podinfo }
        - { name: all-in-one, mountPath: /projected-volume, readOnly: true }
  volumes:
    - name: podinfo
      downwardAPI:
        items:
          - { path: labels, fieldRef: { fieldPath: metadata.labels } }
          - { path: annotations, fieldRef: { fieldPath: metadata.annotations } }
          - { path: cpu_limit, resourceFieldRef: { containerName: client-container, resource: limits.cpu, divisor: 1m } }
          - { path: mem_request, resourceFieldRef: { containerName: client-container, resource: requests.memory, divisor: 1Mi } }
    - name: all-in-one
      projected:
        sources:
          - downwardAPI: { items: [{ path: name, fieldRef: { fieldPath: metadata.name } }] }
          - configMap: { name: myconfigmap, items: [{ key: config, path: my-group/my-config }] }
          - serviceAccountToken: { path: token }
`);
    const run = await runCli(['run', file, '--configmap', `myconfigmap=${cmDir}`], env);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/projected\.sources\[2\]\.serviceAccountToken is not supported by keelson and is ignored/);
    expect(await logsUntil('kubernetes-downwardapi-volume-example/client-container')).toBe(
      'cluster="test-cluster1"\nrack="rack-22"\nzone="us-est-coast"\n' +
      'build="two"\nbuilder="john-doe"\n500\n32\n' +
      'kubernetes-downwardapi-volume-example\ncfg\nread-only\nEND\n',
    );
    await ok('down', file);
  }, 120_000);
  it('mounts an image volume (KEP-4639) read-only and noexec, whole and at a subPath', async () => {
    const file = await manifest(`apiVersion: v1
kind: Pod
metadata:
  name: image-volume
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1 # sleep as PID 1 ignores SIGTERM
  containers:
    - name: reader
      image: ${IMAGE}
      command: ["sh", "-c", "cat /site/index.html; ls /img/etc; touch /img/x 2>/dev/null || echo read-only; /img/bin/busybox true 2>/dev/null || echo noexec; echo END; sleep 3600"]
      volumeMounts:
        - { name: content, mountPath: /img }
        - { name: content, mountPath: /site, subPath: www }
  volumes:
    - name: content
      image:
        reference: ${IMAGE}
        pullPolicy: IfNotPresent
`);
    await ok('run', file);
    expect(await logsUntil('image-volume')).toBe('Hello from a keelson pod!\ngroup\npasswd\nread-only\nnoexec\nEND\n');
    await ok('down', file);
  }, 120_000);
});

// CDI devices (ContainerConfig.CDI_devices) through the daemon's socket: device nodes, env and
// mounts from spec files in the configured dirs (JSON and YAML, a later dir winning), the spec's
// own edits once, and clear refusals for an unknown device or a spec that asks for hooks.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcError } from '../../fixtures/grpc.js';
import { PodEnv } from '../../fixtures/pod-env.js';

const base = mkdtempSync(join(tmpdir(), 'keelson-cdi-'));
const low = join(base, 'etc-cdi');
const high = join(base, 'run-cdi');
const data = join(base, 'data');
let env: PodEnv;
let pod: Awaited<ReturnType<PodEnv['runPod']>>;

beforeAll(async () => {
  for (const d of [low, high, data]) mkdirSync(d, { recursive: true });
  writeFileSync(join(data, 'firmware.bin'), 'fw-1');
  writeFileSync(join(low, 'test.json'), JSON.stringify({
    cdiVersion: '0.6.0', kind: 'example.com/test',
    containerEdits: { env: ['CDI_SPEC=1'] },
    devices: [
      { name: 'null0', containerEdits: { env: ['CDI_DEV=low'], deviceNodes: [{ path: '/dev/cdi-null', hostPath: '/dev/null' }] } },
      { name: 'zero0', containerEdits: {
        deviceNodes: [{ path: '/dev/cdi-zero', hostPath: '/dev/zero', permissions: 'r' }],
        mounts: [{ hostPath: data, containerPath: '/cdi-data', options: ['ro', 'bind'] }],
      } },
      { name: 'hooked', containerEdits: { hooks: [{ hookName: 'createContainer', path: '/bin/true' }] } },
    ],
  }));
  // The higher-priority dir redefines null0 (YAML): its edits win.
  writeFileSync(join(high, 'test.yaml'), [
    'cdiVersion: 0.6.0', 'kind: example.com/test', 'devices:', '  - name: null0', '    containerEdits:',
    '      env: ["CDI_DEV=high"]', '      deviceNodes:', '        - path: /dev/cdi-null', '          hostPath: /dev/null', '',
  ].join('\n'));
  env = await PodEnv.start({}, { configToml: `[cdi]\nspec_dirs = ["${low}", "${high}"]\n` });
  pod = await env.runPod();
});
afterAll(async () => {
  if (pod) await env?.removePod(pod.id).catch(() => undefined);
  await env?.destroy();
  rmSync(base, { recursive: true, force: true });
});

describe('CDI devices', () => {
  it('adds the devices\' nodes, env and mounts, the later dir winning and the spec\'s edits applied once', async () => {
    const id = await env.startContainer(pod, env.container('gpu', ['sleep', '3600'], {
      CDI_devices: [{ name: 'example.com/test=null0' }, { name: 'example.com/test=zero0' }],
    }));
    expect((await env.exec(id, ['sh', '-c', 'test -c /dev/cdi-null && test -c /dev/cdi-zero && echo ok'])).out.trim()).toBe('ok');
    const envOut = (await env.exec(id, ['env'])).out.split('\n');
    expect(envOut).toContain('CDI_DEV=high');
    expect(envOut.filter((l) => l === 'CDI_SPEC=1')).toHaveLength(1);
    expect((await env.exec(id, ['cat', '/cdi-data/firmware.bin'])).out).toBe('fw-1');
    expect((await env.exec(id, ['sh', '-c', 'echo x > /cdi-data/new'])).code).not.toBe(0);
    expect((await env.exec(id, ['sh', '-c', 'head -c 4 /dev/cdi-zero | wc -c'])).out.trim()).toBe('4');
  });

  it('refuses an unknown device and a device with hooks, creating nothing', async () => {
    const unknown = await grpcError(env.createContainer(pod, env.container('nodev', ['true'], { CDI_devices: [{ name: 'example.com/test=nope' }] })));
    expect(unknown.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(unknown.details).toContain('"example.com/test=nope" is not defined by any CDI spec');
    const hooked = await grpcError(env.createContainer(pod, env.container('hooked', ['true'], { CDI_devices: [{ name: 'example.com/test=hooked' }] })));
    expect(hooked.code).toBe(grpcStatus.FAILED_PRECONDITION);
    expect(hooked.details).toContain('does not run CDI hooks');
    const names = ((await env.daemon.client.runtime.call('ListContainers', { filter: { pod_sandbox_id: pod.id } })).containers ?? []).map((c) => c.metadata?.name);
    expect(names).not.toContain('nodev');
    expect(names).not.toContain('hooked');
  });
});

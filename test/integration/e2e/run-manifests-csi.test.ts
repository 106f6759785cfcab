// A PersistentVolumeClaim document whose storageClassName is a CSI plugin of the daemon (the
// fixture plugin, run by the daemon): `keelson run` provisions a named volume of that plugin for
// the claim, with the requested size, and the data outlives `down`.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CsiCliEnv, DEMO_IMAGE, FAST_CSI_TOML, fixturePluginToml } from '../../fixtures/csi-e2e.js';

const DRIVER = 'fixture.csi.keelson.dev';
let t: CsiCliEnv;

beforeAll(async () => {
  t = await CsiCliEnv.start('keelson-pvc', (base) => `${FAST_CSI_TOML}${fixturePluginToml(DRIVER, join(base, 'plugin'))}`);
}, 120_000);

afterEach(async () => {
  await t?.removeAllPods();
});

afterAll(async () => {
  await t?.destroy();
});

describe('keelson run with a PersistentVolumeClaim of a CSI storage class', () => {
  it('creates a named volume of the plugin for the claim and keeps it across down and run', async () => {
    const suffix = randomBytes(3).toString('hex');
    const claim = `db-${suffix}`;
    const pod = `db-pod-${suffix}`;
    const file = join(t.base, 'manifests', `pvc-${suffix}.yaml`);
    await writeFile(file, `apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: ${claim} }
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ${DRIVER}
  resources: { requests: { storage: 64Mi } }
---
apiVersion: v1
kind: Pod
metadata: { name: ${pod} }
spec:
  containers:
    - name: main
      image: ${DEMO_IMAGE}
      command: ["sh", "-c", "cat /data/seen 2>/dev/null || echo first; echo again > /data/seen; echo done; sleep 3600"]
      volumeMounts: [{ name: data, mountPath: /data }]
  volumes:
    - name: data
      persistentVolumeClaim: { claimName: ${claim} }
`);
    await t.ok('run', file);
    await t.waitForLog(pod, 'done');
    expect((await t.cli('logs', `${pod}/main`)).stdout).toContain('first');
    const made = (await t.json<Array<{ name: string; driver: string; capacityBytes: number }>>('volume', 'ls')).find((v) => v.name === claim);
    expect(made).toMatchObject({ driver: DRIVER, capacityBytes: 64 << 20 });
    await t.ok('down', file);

    await t.ok('run', file);
    await t.waitForLog(pod, 'done');
    const second = (await t.cli('logs', `${pod}/main`)).stdout;
    expect(second).toContain('again');
    expect(second).not.toContain('first');
    expect((await t.json<Array<{ name: string }>>('volume', 'ls')).filter((v) => v.name === claim)).toHaveLength(1);
    await t.ok('down', file);
    await t.ok('volume', 'rm', claim);
  }, 120_000);
});

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ParsedClaim, ParsedKeyObject } from '../../../src/kube/manifest.js';
import type { Pod } from '../../../src/kube/pod-types.js';
import { bindClaims, claimDir, sourcesFor, type ClaimVolumes } from '../../../src/run/manifest-objects.js';

const object = (namespace: string, name: string, value: string): ParsedKeyObject => ({
  origin: `f.yaml: document 1 (ConfigMap ${name})`, namespace, namespaceGiven: true, name, data: new Map([['k', value]]),
});

const pod = (namespace?: string): Pod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', ...(namespace ? { namespace } : {}) },
  spec: {
    containers: [{ name: 'c', image: 'i', volumeMounts: [{ name: 'd', mountPath: '/d' }, { name: 'other', mountPath: '/o' }] }],
    volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data', readOnly: true } }, { name: 'other', persistentVolumeClaim: { claimName: 'made-by-hand' } }],
  },
});

/** A claim without storageClassName never needs the daemon. */
const noDaemon = (): ClaimVolumes => {
  throw new Error('the daemon was asked');
};

let root = '';
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('manifest objects for pods', () => {
  it('gives a pod the file objects of its namespace, and a flag of the same name instead, with a note', () => {
    const said: string[] = [];
    const file = { configMaps: [object('default', 'a', 'file'), object('prod', 'b', 'prod')], secrets: [] };
    const flags = { configMaps: new Map([['a', new Map([['k', 'flag']])]]), secrets: new Map<string, Map<string, string>>() };
    const inDefault = sourcesFor('default', file, flags, (l) => said.push(l));
    expect(inDefault.configMaps.get('a')?.get('k')).toBe('flag');
    expect(inDefault.configMaps.has('b')).toBe(false);
    expect(said).toEqual(['note: configMap a: --configmap a=... is used instead of f.yaml: document 1 (ConfigMap a)']);
    expect(sourcesFor('prod', file, { configMaps: new Map(), secrets: new Map() }, () => undefined).configMaps.get('b')?.get('k')).toBe('prod');
  });

  it('binds a claim of the file to a local dir (readOnly moved to the mounts), leaving other claims as named volumes', async () => {
    root = mkdtempSync(join(tmpdir(), 'keelson-claims-'));
    const claims: ParsedClaim[] = [{ origin: 'f.yaml: document 1 (PersistentVolumeClaim data)', namespace: 'default', namespaceGiven: false, name: 'data', storage: '1Gi' }];
    const said: string[] = [];
    const bound = await bindClaims(pod(), claims, root, noDaemon, (l) => said.push(l));
    const dir = claimDir(root, 'default', 'data');
    expect(bound.spec.volumes).toEqual([
      { name: 'd', hostPath: { path: dir, type: 'Directory' } },
      { name: 'other', persistentVolumeClaim: { claimName: 'made-by-hand' } },
    ]);
    expect(bound.spec.containers[0]?.volumeMounts?.map((m) => m.readOnly)).toEqual([true, undefined]);
    expect(statSync(dir).mode & 0o777).toBe(0o777);
    expect(said).toEqual([]);
    // A claim of another namespace is not this pod's.
    expect(await bindClaims(pod('prod'), claims, root, noDaemon, () => undefined)).toEqual(pod('prod'));
  });
});

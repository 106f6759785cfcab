import { describe, expect, it } from 'vitest';
import { parseManifests } from '../../../src/kube/manifest.js';
import type { Pod } from '../../../src/kube/pod-types.js';
import { downwardValue, formatMap, goQuote } from '../../../src/run/downward.js';

const pod: Pod = {
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name: 'kubernetes-downwardapi-volume-example', namespace: 'ns1', uid: 'u-1', labels: { zone: 'us-est-coast', cluster: 'test-cluster1', rack: 'rack-22' }, annotations: { build: 'two', builder: 'john-doe' } },
  spec: { containers: [{ name: 'client-container', image: 'busybox', resources: { requests: { cpu: '250m', memory: '32Mi' }, limits: { cpu: '500m', memory: '64Mi' } } }] },
};
const node = { cpuMillis: 4000, memoryBytes: 8 * 2 ** 30 };

describe('downwardAPI file contents (as kubelet writes them)', () => {
  it('quotes like Go %q', () => {
    expect(goQuote('plain')).toBe('"plain"');
    expect(goQuote('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(goQuote('l1\nl2\t\x01\x7f')).toBe('"l1\\nl2\\t\\x01\\x7f"');
    expect(goQuote('héllo')).toBe('"héllo"');
  });

  it('writes labels and annotations as sorted key="value" lines', () => {
    expect(downwardValue(pod, { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }, 'i', node))
      .toBe('cluster="test-cluster1"\nrack="rack-22"\nzone="us-est-coast"');
    expect(downwardValue(pod, { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } }, 'i', node))
      .toBe('build="two"\nbuilder="john-doe"');
    expect(formatMap(undefined)).toBe('');
  });

  it('gives name, namespace, uid and single labels', () => {
    const v = (fieldPath: string): string => downwardValue(pod, { path: 'x', fieldRef: { fieldPath } }, 'i', node);
    expect([v('metadata.name'), v('metadata.namespace'), v('metadata.uid'), v("metadata.labels['zone']")])
      .toEqual(['kubernetes-downwardapi-volume-example', 'ns1', 'u-1', 'us-est-coast']);
    expect(() => v('status.podIP')).toThrow(/i\.fieldRef\.fieldPath "status\.podIP" is not supported in a downwardAPI volume/);
  });

  it('gives resource limits and requests with divisors, the node capacity for an unset limit', () => {
    const r = (resource: string, divisor?: string, p: Pod = pod): string =>
      downwardValue(p, { path: 'x', resourceFieldRef: { containerName: 'client-container', resource, ...(divisor ? { divisor } : {}) } }, 'i', node);
    expect(r('limits.cpu', '1m')).toBe('500');
    expect(r('limits.cpu')).toBe('1'); // rounded up
    expect(r('requests.cpu', '1m')).toBe('250');
    expect(r('limits.memory', '1Mi')).toBe('64');
    expect(r('requests.memory')).toBe(String(32 * 2 ** 20));
    const bare: Pod = { ...pod, spec: { containers: [{ name: 'client-container', image: 'busybox' }] } };
    expect(r('limits.cpu', '1m', bare)).toBe('4000');
    expect(r('requests.memory', undefined, bare)).toBe('0');
    expect(() => r('limits.nvidia.com/gpu')).toThrow(/resource "limits\.nvidia\.com\/gpu" is not supported/);
    expect(() => downwardValue(pod, { path: 'x', resourceFieldRef: { containerName: 'nope', resource: 'limits.cpu' } }, 'i', node)).toThrow(/containerName "nope"/);
  });
});

describe('downwardAPI and projected volumes in manifests', () => {
  it('accepts them, warning that a serviceAccountToken source is skipped', () => {
    const { pods, warnings } = parseManifests(`apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  securityContext: { fsGroup: 2000, fsGroupChangePolicy: OnRootMismatch }
  containers: [{ name: c, image: busybox }]
  volumes:
    - name: podinfo
      downwardAPI: { items: [{ path: labels, fieldRef: { fieldPath: metadata.labels } }, { path: cpu, resourceFieldRef: { containerName: c, resource: limits.cpu, divisor: 1m } }] }
    - name: all
      projected:
        sources:
          - serviceAccountToken: { path: token, expirationSeconds: 3600 }
          - configMap: { name: cm, items: [{ key: k, path: k }] }
`, 'p.yaml');
    expect(pods[0]?.pod.spec.volumes?.[0]?.downwardAPI?.items).toHaveLength(2);
    expect(pods[0]?.pod.spec.securityContext?.fsGroupChangePolicy).toBe('OnRootMismatch');
    expect(warnings).toEqual(['p.yaml: document 1 (Pod p): spec.volumes[1].projected.sources[0].serviceAccountToken is not supported by keelson and is ignored']);
  });

  it('reads a leading-zero mode as octal, as kubectl (YAML 1.1) does', () => {
    const { pods } = parseManifests(`apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  containers: [{ name: c, image: busybox }]
  volumes: [{ name: s, secret: { secretName: s, defaultMode: 0440, items: [{ key: k, path: k, mode: 0o400 }] } }, { name: d, downwardAPI: { defaultMode: 420 } }]
`, 'p.yaml');
    expect(pods[0]?.pod.spec.volumes?.[0]?.secret).toMatchObject({ defaultMode: 0o440, items: [{ mode: 0o400 }] });
    expect(pods[0]?.pod.spec.volumes?.[1]?.downwardAPI?.defaultMode).toBe(0o644);
  });
});

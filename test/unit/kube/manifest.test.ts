import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseManifests } from '../../../src/kube/manifest.js';

const pod = (extra = '', container = '') => `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: c1
      image: busybox
${container}${extra}`;

describe('Kubernetes manifests', () => {
  it('reads the shipped example', () => {
    const text = readFileSync(new URL('../../../examples/hello.yaml', import.meta.url), 'utf8');
    const { pods, warnings } = parseManifests(text, 'hello.yaml');
    expect(warnings).toEqual([]);
    expect(pods).toHaveLength(1);
    expect(pods[0]?.pod.spec.initContainers?.[0]?.name).toBe('write-page');
    expect(pods[0]?.pod.spec.containers[0]?.ports?.[0]?.hostPort).toBe(8080);
  });

  it('reads several documents and expands a Deployment into its replicas', () => {
    const text = `${pod()}---
apiVersion: apps/v1
kind: Deployment
metadata: { name: api }
spec:
  replicas: 3
  selector: { matchLabels: { app: api } }
  template:
    metadata: { labels: { app: api } }
    spec:
      containers: [{ name: api, image: busybox }]
---
`;
    const { pods } = parseManifests(text, 'f.yaml');
    expect(pods.map((p) => p.pod.metadata.name)).toEqual(['web', 'api-0', 'api-1', 'api-2']);
    expect(pods[2]?.pod.metadata.labels).toEqual({ app: 'api' });
    expect(pods[2]?.deployment).toBe('api');
  });

  it('names the document, the field path and the problem', () => {
    const bad = pod('', '      ports:\n        - containerPort: 70000\n');
    expect(() => parseManifests(`${pod()}---\n${bad.replace('name: web', 'name: web2')}`, 'f.yaml')).toThrow(
      /f\.yaml: document 2 \(Pod web2\): spec\.containers\[0\]\.ports\[0\]\.containerPort must be <= 65535/,
    );
    expect(() => parseManifests(pod().replace('image: busybox', 'image: 5'), 'f.yaml')).toThrow(
      /spec\.containers\[0\]\.image must be string/,
    );
    expect(() => parseManifests(pod().replace('      image: busybox\n', ''), 'f.yaml')).toThrow(
      /spec\.containers\[0\]\.image is required/,
    );
    expect(() => parseManifests(pod('  restartPolicy: Sometimes\n'), 'f.yaml')).toThrow(
      /spec\.restartPolicy must be one of "Always", "OnFailure", "Never"/,
    );
  });

  it('warns about fields it does not run instead of dropping them silently', () => {
    const text = pod('  nodeSelector: { disk: ssd }\n', '      lifecycle: { preStop: { tcpSocket: { port: 80 } }, postStart: { exec: { command: [x] } } }\n');
    const { pods, warnings } = parseManifests(text, 'f.yaml');
    expect(pods).toHaveLength(1);
    expect(warnings).toEqual([
      'f.yaml: document 1 (Pod web): spec.containers[0].lifecycle.preStop.tcpSocket is not supported by keelson and is ignored',
      'f.yaml: document 1 (Pod web): spec.nodeSelector is not supported by keelson and is ignored',
    ]);
  });

  it('refuses unknown kinds, broken YAML, duplicate names and dangling volume mounts', () => {
    expect(() => parseManifests('apiVersion: v1\nkind: Namespace\nmetadata: {name: s}\n', 'f.yaml')).toThrow(
      /document 1 \(Namespace s\): apiVersion "v1" kind "Namespace" is not supported/,
    );
    expect(() => parseManifests('a: [1,\n', 'f.yaml')).toThrow(/document 1: not valid YAML/);
    expect(() => parseManifests(`${pod()}---\n${pod()}`, 'f.yaml')).toThrow(/pod default\/web is also defined by f\.yaml: document 1/);
    expect(() => parseManifests(pod('', '      volumeMounts: [{ name: data, mountPath: /data }]\n'), 'f.yaml')).toThrow(
      /volumeMounts\[0\]\.name "data" is not in spec\.volumes/,
    );
    expect(() => parseManifests(pod().replace('name: web', 'name: Web_Bad'), 'f.yaml')).toThrow(/metadata\.name has an invalid value/);
  });

  it('refuses env names with newlines or "=" and hostile sizes', () => {
    expect(() =>
      parseManifests(pod('', '      env: [{ name: "A=B", value: x }]\n'), 'f.yaml'),
    ).toThrow(/env\[0\]\.name has an invalid value/);
    expect(() => parseManifests('x'.repeat((4 << 20) + 1), 'big.yaml')).toThrow(/big\.yaml: larger than/);
  });
});

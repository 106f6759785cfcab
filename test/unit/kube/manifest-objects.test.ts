import { describe, expect, it } from 'vitest';
import { closestName } from '../../../src/kube/api-fields.js';
import { parseManifests } from '../../../src/kube/manifest.js';
import { applyNamespace } from '../../../src/cli/manifest-input.js';

const pod = (spec = '', container = '', metadata = '') => `apiVersion: v1
kind: Pod
metadata:
  name: web
${metadata}spec:
  containers:
    - name: c1
      image: busybox
${container}${spec}`;

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('unknown fields', () => {
  it('refuses misspelt fields with their paths and a suggestion, in every document at once', () => {
    const text = `${pod('', '      comand: [sh]\n      imagee: x\n', '  lables: { a: b }\n')}---
apiVersion: apps/v1
kind: Deployment
metadata: { name: api }
spec:
  replica: 2
  template:
    spec:
      containers: [{ name: api, image: busybox, volumeMount: [] }]
`;
    let message = '';
    try {
      parseManifests(text, 'f.yaml');
    } catch (err) {
      message = (err as Error).message;
      expect((err as { kind?: string }).kind).toBe('InvalidArgument');
    }
    expect(message.split('\n')).toEqual([
      'f.yaml: document 1 (Pod web): unknown field "metadata.lables" (did you mean "labels"?)',
      'f.yaml: document 1 (Pod web): unknown field "spec.containers[0].comand" (did you mean "command"?)',
      'f.yaml: document 1 (Pod web): unknown field "spec.containers[0].imagee" (did you mean "image"?)',
      'f.yaml: document 2 (Deployment api): unknown field "spec.replica" (did you mean "replicas"?)',
      'f.yaml: document 2 (Deployment api): unknown field "spec.template.spec.containers[0].volumeMount" (did you mean "volumeMounts"?)',
    ]);
  });

  it('gives no suggestion when no known name is close, and checks deep in subtrees keelson ignores', () => {
    expect(() => parseManifests(pod('  frobnicate: true\n'), 'f.yaml')).toThrow(/^f\.yaml: document 1 \(Pod web\): unknown field "spec\.frobnicate"$/);
    const affinity = '  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n' +
      '        nodeSelectorTerms: [{ matchExpresions: [{ key: a, operator: In, values: [b] }] }]\n';
    expect(() => parseManifests(pod(affinity), 'f.yaml')).toThrow(
      /unknown field "spec\.affinity\.nodeAffinity\.requiredDuringSchedulingIgnoredDuringExecution\.nodeSelectorTerms\[0\]\.matchExpresions" \(did you mean "matchExpressions"\?\)/,
    );
    expect(() => parseManifests(`${pod()}---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndat: { a: b }\n`, 'f.yaml')).toThrow(
      /document 2 \(ConfigMap c\): unknown field "dat" \(did you mean "data"\?\)/,
    );
  });

  it('keeps free-form maps free and only warns about real fields keelson does not run', () => {
    const text = pod(
      '  nodeSelector: { any-key: x }\n  tolerations: [{ key: k, operator: Exists, effect: NoSchedule }]\n  priorityClassName: high\n',
      '      resources: { limits: { example.com/gpu: 1 } }\n      lifecycle: { preStop: { tcpSocket: { port: 80 } } }\n',
      '  annotations: { whatever/x: y }\n  generateName: web-\n',
    );
    const { pods, warnings } = parseManifests(text, 'f.yaml');
    expect(pods).toHaveLength(1);
    expect(warnings).toEqual([
      'f.yaml: document 1 (Pod web): metadata.generateName is not supported by keelson and is ignored',
      'f.yaml: document 1 (Pod web): spec.containers[0].lifecycle.preStop.tcpSocket is not supported by keelson and is ignored',
      'f.yaml: document 1 (Pod web): spec.nodeSelector is not supported by keelson and is ignored',
      'f.yaml: document 1 (Pod web): spec.tolerations is not supported by keelson and is ignored',
      'f.yaml: document 1 (Pod web): spec.priorityClassName is not supported by keelson and is ignored',
    ]);
  });

  it('accepts serviceAccountName, serviceAccount and automountServiceAccountToken with a note naming each', () => {
    const { pods, warnings } = parseManifests(pod('  serviceAccountName: builder\n  serviceAccount: builder\n  automountServiceAccountToken: false\n'), 'f.yaml');
    expect(pods).toHaveLength(1);
    expect(warnings).toEqual([
      expect.stringMatching(/^f\.yaml: document 1 \(Pod web\): spec\.serviceAccountName is ignored: keelson runs pods without service accounts/),
      expect.stringMatching(/^f\.yaml: document 1 \(Pod web\): spec\.serviceAccount is ignored: keelson runs pods without service accounts/),
      expect.stringMatching(/^f\.yaml: document 1 \(Pod web\): spec\.automountServiceAccountToken is ignored: keelson mounts no service account token/),
    ]);
  });

  it('suggests only a single close name', () => {
    expect(closestName('comand', ['command', 'args'])).toBe('command');
    expect(closestName('Image', ['image', 'imagePullPolicy'])).toBe('image');
    expect(closestName('nam', ['name', 'nap'])).toBeUndefined(); // two at distance 1
    expect(closestName('xyz', ['name'])).toBeUndefined();
  });
});

describe('objects beside the pods', () => {
  const objects = `apiVersion: v1
kind: ConfigMap
metadata: { name: game-config }
data:
  game.properties: "lives=3\\n"
  ui: dark
binaryData:
  bin: ${b64('from binaryData')}
---
apiVersion: v1
kind: Secret
metadata: { name: creds, namespace: prod }
type: kubernetes.io/basic-auth
data:
  username: ${b64('admin')}
  password: ${b64('old')}
stringData:
  password: s3cr3t
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: data }
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: csi.example.com
  resources: { requests: { storage: 1Gi } }
---
${pod()}`;

  it('reads ConfigMap, Secret (base64 data, stringData winning) and PVC documents and skips a Service with a note', () => {
    const parsed = parseManifests(objects, 'f.yaml');
    expect(parsed.pods.map((p) => p.pod.metadata.name)).toEqual(['web']);
    expect(parsed.configMaps).toEqual([{
      origin: 'f.yaml: document 1 (ConfigMap game-config)', namespace: 'default', namespaceGiven: false, name: 'game-config',
      data: new Map([['game.properties', 'lives=3\n'], ['ui', 'dark'], ['bin', 'from binaryData']]),
    }]);
    expect(parsed.secrets).toEqual([{
      origin: 'f.yaml: document 2 (Secret creds)', namespace: 'prod', namespaceGiven: true, name: 'creds',
      data: new Map([['username', 'admin'], ['password', 's3cr3t']]),
    }]);
    expect(parsed.claims).toEqual([{
      origin: 'f.yaml: document 4 (PersistentVolumeClaim data)', namespace: 'default', namespaceGiven: false, name: 'data', storageClassName: 'csi.example.com', storage: '1Gi',
    }]);
    expect(parsed.notes).toEqual(['f.yaml: document 3 (Service web): Service web: skipped; keelson has no service proxy, use hostPort or `keelson port-forward`']);
    expect(parsed.warnings).toEqual([]);
  });

  it('reads the docs example of a pod with a configMap, a secret and a service', () => {
    // The shape of the configMap page of the Kubernetes docs, plus a Secret and a Service.
    const text = `apiVersion: v1
kind: ConfigMap
metadata:
  name: game-demo
data:
  player_initial_lives: "3"
  ui_properties_file_name: "user-interface.properties"
  game.properties: |
    enemy.types=aliens,monsters
    player.maximum-lives=5
---
apiVersion: v1
kind: Secret
metadata:
  name: demo-credentials
type: Opaque
stringData:
  username: admin
---
apiVersion: v1
kind: Service
metadata:
  name: configmap-demo
spec:
  selector:
    app: configmap-demo
  ports:
    - protocol: TCP
      port: 80
      targetPort: 8080
---
apiVersion: v1
kind: Pod
metadata:
  name: configmap-demo-pod
  labels:
    app: configmap-demo
spec:
  containers:
    - name: demo
      image: alpine
      command: ["sleep", "3600"]
      env:
        - name: PLAYER_INITIAL_LIVES
          valueFrom:
            configMapKeyRef:
              name: game-demo
              key: player_initial_lives
        - name: USERNAME
          valueFrom:
            secretKeyRef:
              name: demo-credentials
              key: username
      volumeMounts:
      - name: config
        mountPath: "/config"
        readOnly: true
  volumes:
  - name: config
    configMap:
      name: game-demo
      items:
      - key: "game.properties"
        path: "game.properties"
`;
    const parsed = parseManifests(text, 'docs.yaml');
    expect(parsed.warnings).toEqual([]);
    expect(parsed.pods).toHaveLength(1);
    expect(parsed.configMaps.map((c) => c.name)).toEqual(['game-demo']);
    expect(parsed.secrets.map((c) => c.name)).toEqual(['demo-credentials']);
    expect(parsed.notes).toHaveLength(1);
  });

  it('refuses bad base64, binary values, duplicate objects, bad keys and a key in data and binaryData', () => {
    const secret = (data: string) => `apiVersion: v1\nkind: Secret\nmetadata: { name: s }\ndata: { k: "${data}" }\n`;
    expect(() => parseManifests(secret('not base64!'), 'f.yaml')).toThrow(/document 1 \(Secret s\): data\.k is not valid base64/);
    expect(() => parseManifests(secret(Buffer.from([0xff, 0xfe, 0x00]).toString('base64')), 'f.yaml')).toThrow(/data\.k is binary \(not UTF-8\)/);
    expect(() => parseManifests(`${secret(b64('a'))}---\n${secret(b64('b'))}`, 'f.yaml')).toThrow(/document 2 \(Secret s\): Secret default\/s is also defined by f\.yaml: document 1/);
    expect(() => parseManifests('apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { "a/b": x }\n', 'f.yaml')).toThrow(/document 1 \(ConfigMap c\): data/);
    expect(() => parseManifests(`apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { a: x }\nbinaryData: { a: ${b64('y')} }\n`, 'f.yaml')).toThrow(
      /key "a" is in both data and binaryData/,
    );
    expect(() => parseManifests('apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: { name: p }\nspec: { volumeMode: Block }\n', 'f.yaml')).toThrow(
      /spec\.volumeMode must be one of "Filesystem"/,
    );
  });
});

describe('run -n with the file\'s objects', () => {
  const file = (cmNamespace: string) => `${pod()}---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
${cmNamespace}data:
  k: v
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
`;

  it('moves objects that name no namespace to the one given, with the pods', () => {
    const parsed = applyNamespace(parseManifests(file(''), 'f.yaml'), 'team');
    expect(parsed.pods[0]?.pod.metadata.namespace).toBe('team');
    expect(parsed.configMaps.map((c) => c.namespace)).toEqual(['team']);
    expect(parsed.claims.map((c) => c.namespace)).toEqual(['team']);
  });

  it('refuses an object that names another namespace, as kubectl does', () => {
    expect(() => applyNamespace(parseManifests(file('  namespace: other\n'), 'f.yaml'), 'team'))
      .toThrow('the namespace from the provided object "other" does not match the namespace "team" given with -n');
  });
});

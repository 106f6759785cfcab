// JSON schemas for the part of the Kubernetes Pod and Deployment APIs that keelson runs, and of
// the objects beside them it reads (ConfigMap, Secret, PersistentVolumeClaim, Service).
// Kubernetes fields outside these schemas are reported as unsupported (see manifest.ts), never
// dropped in silence; names Kubernetes does not have are refused (api-fields.ts); fields inside
// these schemas are type-checked by ajv.

type Schema = Record<string, unknown>;

const str: Schema = { type: 'string' };
const int: Schema = { type: 'integer' };
const bool: Schema = { type: 'boolean' };
const intOrString: Schema = { type: ['integer', 'string'] };
const quantity: Schema = { type: ['string', 'number'] };
const stringMap: Schema = { type: 'object', additionalProperties: { type: 'string' } };
const stringList: Schema = { type: 'array', items: str };
const dnsLabel: Schema = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' };
const dnsSubdomain: Schema = {
  type: 'string',
  maxLength: 253,
  pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
};

function obj(properties: Record<string, Schema>, required: string[] = []): Schema {
  return { type: 'object', properties, required };
}
function list(items: Schema): Schema {
  return { type: 'array', items };
}

const keyRef = obj({ name: str, key: str, optional: bool }, ['key']);
const envVar = obj(
  {
    name: { type: 'string', minLength: 1, pattern: '^[^=\\u0000\\n]+$' },
    value: str,
    valueFrom: obj({
      fieldRef: obj({ fieldPath: str, apiVersion: str }, ['fieldPath']),
      resourceFieldRef: obj({ resource: str, containerName: str, divisor: quantity }, ['resource']),
      configMapKeyRef: keyRef,
      secretKeyRef: keyRef,
    }),
  },
  ['name'],
);

const probe = obj({
  exec: obj({ command: stringList }),
  httpGet: obj(
    {
      path: str,
      port: intOrString,
      host: str,
      scheme: { enum: ['HTTP', 'HTTPS'] },
      httpHeaders: list(obj({ name: str, value: str }, ['name', 'value'])),
    },
    ['port'],
  ),
  tcpSocket: obj({ port: intOrString, host: str }, ['port']),
  initialDelaySeconds: { type: 'integer', minimum: 0 },
  periodSeconds: { type: 'integer', minimum: 1 },
  timeoutSeconds: { type: 'integer', minimum: 1 },
  successThreshold: { type: 'integer', minimum: 1 },
  failureThreshold: { type: 'integer', minimum: 1 },
  terminationGracePeriodSeconds: { type: 'integer', minimum: 0 },
});

// A lifecycle hook: exec in the container, HTTP GET to the pod, or sleep. tcpSocket is deprecated
// (kubelet never ran it): left out of the schema so it is warned as ignored.
const lifecycleHandler = obj({
  exec: obj({ command: stringList }),
  httpGet: (probe.properties as Record<string, Schema>).httpGet as Schema,
  sleep: obj({ seconds: { type: 'integer', minimum: 0 } }, ['seconds']),
});

const capabilities = obj({ add: stringList, drop: stringList });
const seccompProfile = obj({ type: { enum: ['RuntimeDefault', 'Unconfined', 'Localhost'] }, localhostProfile: str }, ['type']);

const containerSecurityContext = obj({
  runAsUser: { type: 'integer', minimum: 0, maximum: 2147483647 },
  runAsGroup: { type: 'integer', minimum: 0, maximum: 2147483647 },
  runAsNonRoot: bool,
  privileged: bool,
  readOnlyRootFilesystem: bool,
  allowPrivilegeEscalation: bool,
  capabilities,
  seccompProfile,
});

const container = obj(
  {
    name: dnsLabel,
    image: { type: 'string', minLength: 1 },
    imagePullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'] },
    command: stringList,
    args: stringList,
    workingDir: str,
    env: list(envVar),
    ports: list(
      obj(
        {
          name: str,
          containerPort: { type: 'integer', minimum: 1, maximum: 65535 },
          hostPort: { type: 'integer', minimum: 1, maximum: 65535 },
          hostIP: str,
          protocol: { enum: ['TCP', 'UDP', 'SCTP'] },
        },
        ['containerPort'],
      ),
    ),
    resources: obj({
      limits: { type: 'object', additionalProperties: quantity },
      requests: { type: 'object', additionalProperties: quantity },
    }),
    volumeMounts: list(
      obj(
        {
          name: str,
          mountPath: { type: 'string', pattern: '^/' },
          readOnly: bool,
          subPath: str,
          mountPropagation: { enum: ['None', 'HostToContainer', 'Bidirectional'] },
        },
        ['name', 'mountPath'],
      ),
    ),
    securityContext: containerSecurityContext,
    livenessProbe: probe,
    readinessProbe: probe,
    startupProbe: probe,
    lifecycle: obj({ postStart: lifecycleHandler, preStop: lifecycleHandler }),
    stdin: bool,
    stdinOnce: bool,
    tty: bool,
    terminationMessagePath: str,
    terminationMessagePolicy: str,
  },
  ['name', 'image'],
);

const keyToPath = list(obj({ key: str, path: str, mode: int }, ['key', 'path']));
const downwardFiles = list(obj({
  path: str,
  fieldRef: obj({ fieldPath: str, apiVersion: str }, ['fieldPath']),
  resourceFieldRef: obj({ resource: str, containerName: str, divisor: quantity }, ['resource']),
  mode: int,
}, ['path']));
const volume = obj(
  {
    name: dnsLabel,
    emptyDir: obj({ medium: { enum: ['', 'Memory'] }, sizeLimit: quantity }),
    hostPath: obj(
      {
        path: { type: 'string', pattern: '^/' },
        type: {
          enum: ['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice'],
        },
      },
      ['path'],
    ),
    configMap: obj({ name: str, items: keyToPath, defaultMode: int, optional: bool }, ['name']),
    secret: obj({ secretName: str, items: keyToPath, defaultMode: int, optional: bool }, ['secretName']),
    csi: obj(
      {
        driver: { type: 'string', minLength: 1 },
        readOnly: bool,
        fsType: str,
        volumeAttributes: stringMap,
        nodePublishSecretRef: obj({ name: str }, ['name']),
      },
      ['driver'],
    ),
    persistentVolumeClaim: obj({ claimName: { type: 'string', minLength: 1 }, readOnly: bool }, ['claimName']),
    image: obj({ reference: { type: 'string', minLength: 1 }, pullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'] } }, ['reference']),
    downwardAPI: obj({ items: downwardFiles, defaultMode: int }),
    projected: obj({
      sources: list(obj({
        configMap: obj({ name: str, items: keyToPath, optional: bool }, ['name']),
        secret: obj({ name: str, items: keyToPath, optional: bool }, ['name']),
        downwardAPI: obj({ items: downwardFiles }),
      })),
      defaultMode: int,
    }),
  },
  ['name'],
);

const podSpec = obj(
  {
    containers: { ...list(container), minItems: 1 },
    initContainers: list(container),
    restartPolicy: { enum: ['Always', 'OnFailure', 'Never'] },
    terminationGracePeriodSeconds: { type: 'integer', minimum: 0 },
    hostNetwork: bool,
    hostPID: bool,
    hostIPC: bool,
    shareProcessNamespace: bool,
    hostname: dnsLabel,
    subdomain: dnsLabel,
    dnsPolicy: { enum: ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'] },
    dnsConfig: obj({
      nameservers: stringList,
      searches: stringList,
      options: list(obj({ name: str, value: str }, ['name'])),
    }),
    securityContext: obj({
      runAsUser: { type: 'integer', minimum: 0, maximum: 2147483647 },
      runAsGroup: { type: 'integer', minimum: 0, maximum: 2147483647 },
      runAsNonRoot: bool,
      fsGroup: { type: 'integer', minimum: 0, maximum: 2147483647 },
      fsGroupChangePolicy: { enum: ['OnRootMismatch', 'Always'] },
      supplementalGroups: list({ type: 'integer', minimum: 0, maximum: 2147483647 }),
      sysctls: list(obj({ name: str, value: str }, ['name', 'value'])),
      seccompProfile,
    }),
    volumes: list(volume),
  },
  ['containers'],
);

const metadata = obj(
  { name: dnsSubdomain, namespace: dnsLabel, labels: stringMap, annotations: stringMap, uid: str },
  ['name'],
);

export const podSchema: Schema = obj(
  { apiVersion: { const: 'v1' }, kind: { const: 'Pod' }, metadata, spec: podSpec },
  ['apiVersion', 'kind', 'metadata', 'spec'],
);

export const deploymentSchema: Schema = obj(
  {
    apiVersion: { const: 'apps/v1' },
    kind: { const: 'Deployment' },
    metadata,
    spec: obj(
      {
        replicas: { type: 'integer', minimum: 0, maximum: 1000 },
        selector: obj({ matchLabels: stringMap }),
        template: obj({ metadata: obj({ labels: stringMap, annotations: stringMap }), spec: podSpec }, ['spec']),
      },
      ['template'],
    ),
  },
  ['apiVersion', 'kind', 'metadata', 'spec'],
);

/** ConfigMap and Secret keys, as Kubernetes checks them. */
const keyMap: Schema = { ...stringMap, propertyNames: { pattern: '^[-._a-zA-Z0-9]+$', maxLength: 253 } };
const objectMeta = obj({ name: dnsSubdomain, namespace: dnsLabel, labels: stringMap, annotations: stringMap }, ['name']);

export const configMapSchema: Schema = obj(
  { apiVersion: { const: 'v1' }, kind: { const: 'ConfigMap' }, metadata: objectMeta, data: keyMap, binaryData: keyMap, immutable: bool },
  ['apiVersion', 'kind', 'metadata'],
);

export const secretSchema: Schema = obj(
  // type only says what keys to expect; keelson projects any keys, so it is accepted as is.
  { apiVersion: { const: 'v1' }, kind: { const: 'Secret' }, metadata: objectMeta, data: keyMap, stringData: keyMap, type: str, immutable: bool },
  ['apiVersion', 'kind', 'metadata'],
);

export const persistentVolumeClaimSchema: Schema = obj(
  {
    apiVersion: { const: 'v1' },
    kind: { const: 'PersistentVolumeClaim' },
    metadata: objectMeta,
    spec: obj({
      // One node: every access mode is met by a local dir or a single-node CSI volume.
      accessModes: list({ enum: ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'] }),
      storageClassName: str,
      volumeMode: { enum: ['Filesystem'] },
      resources: obj({ requests: obj({ storage: quantity }) }),
    }),
  },
  ['apiVersion', 'kind', 'metadata'],
);

/** A Service is skipped whole (no service proxy), so only its name is read. */
export const serviceSchema: Schema = obj(
  { apiVersion: { const: 'v1' }, kind: { const: 'Service' }, metadata: objectMeta, spec: { type: 'object' }, status: { type: 'object' } },
  ['apiVersion', 'kind', 'metadata'],
);

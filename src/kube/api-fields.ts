// The field names of the Kubernetes objects keelson reads (core/v1 and apps/v1, as of 1.31),
// written out from the API reference. Only names are listed, not types (pod-schema.ts checks the
// types of what keelson runs): a name outside this list is a typo or a field of no Kubernetes
// version, and is refused as `kubectl apply --validate=strict` does; a name in it that keelson
// does not run is only warned about (manifest.ts).

/** A field whose value is not checked further: a scalar, a list of scalars or a free-form map. */
export const LEAF = 0;
export type FieldTree = { readonly [name: string]: FieldKind };
/** A nested object, a list of them (`[tree]`), or LEAF. */
export type FieldKind = typeof LEAF | FieldTree | readonly [FieldTree];

const nameRef: FieldTree = { name: LEAF };
const optionalNameRef: FieldTree = { name: LEAF, optional: LEAF };
const keySelector: FieldTree = { name: LEAF, key: LEAF, optional: LEAF };
const keyToPath: readonly [FieldTree] = [{ key: LEAF, path: LEAF, mode: LEAF }];
const requirement: readonly [FieldTree] = [{ key: LEAF, operator: LEAF, values: LEAF }];
const labelSelector: FieldTree = { matchLabels: LEAF, matchExpressions: requirement };
const objectFieldSelector: FieldTree = { apiVersion: LEAF, fieldPath: LEAF };
const resourceFieldSelector: FieldTree = { containerName: LEAF, resource: LEAF, divisor: LEAF };

export const objectMeta: FieldTree = {
  name: LEAF, generateName: LEAF, namespace: LEAF, selfLink: LEAF, uid: LEAF, resourceVersion: LEAF,
  generation: LEAF, creationTimestamp: LEAF, deletionTimestamp: LEAF, deletionGracePeriodSeconds: LEAF,
  labels: LEAF, annotations: LEAF, finalizers: LEAF,
  ownerReferences: [{ apiVersion: LEAF, kind: LEAF, name: LEAF, uid: LEAF, controller: LEAF, blockOwnerDeletion: LEAF }],
  // fieldsV1 is free-form by definition (the server's field-ownership sets).
  managedFields: [{ manager: LEAF, operation: LEAF, apiVersion: LEAF, time: LEAF, fieldsType: LEAF, fieldsV1: LEAF, subresource: LEAF }],
};

const httpGet: FieldTree = { path: LEAF, port: LEAF, host: LEAF, scheme: LEAF, httpHeaders: [{ name: LEAF, value: LEAF }] };
const tcpSocket: FieldTree = { port: LEAF, host: LEAF };
const exec: FieldTree = { command: LEAF };

const probe: FieldTree = {
  exec, httpGet, tcpSocket, grpc: { port: LEAF, service: LEAF },
  initialDelaySeconds: LEAF, timeoutSeconds: LEAF, periodSeconds: LEAF, successThreshold: LEAF, failureThreshold: LEAF,
  terminationGracePeriodSeconds: LEAF,
};

const lifecycleHandler: FieldTree = { exec, httpGet, tcpSocket, sleep: { seconds: LEAF } };

const seLinuxOptions: FieldTree = { user: LEAF, role: LEAF, type: LEAF, level: LEAF };
const windowsOptions: FieldTree = { gmsaCredentialSpecName: LEAF, gmsaCredentialSpec: LEAF, runAsUserName: LEAF, hostProcess: LEAF };
const profile: FieldTree = { type: LEAF, localhostProfile: LEAF };

const securityContext: FieldTree = {
  capabilities: { add: LEAF, drop: LEAF }, privileged: LEAF, seLinuxOptions, windowsOptions, runAsUser: LEAF,
  runAsGroup: LEAF, runAsNonRoot: LEAF, readOnlyRootFilesystem: LEAF, allowPrivilegeEscalation: LEAF, procMount: LEAF,
  seccompProfile: profile, appArmorProfile: profile,
};

const podSecurityContext: FieldTree = {
  seLinuxOptions, windowsOptions, runAsUser: LEAF, runAsGroup: LEAF, runAsNonRoot: LEAF, supplementalGroups: LEAF,
  supplementalGroupsPolicy: LEAF, fsGroup: LEAF, sysctls: [{ name: LEAF, value: LEAF }], fsGroupChangePolicy: LEAF,
  seccompProfile: profile, appArmorProfile: profile,
};

export const container: FieldTree = {
  name: LEAF, image: LEAF, command: LEAF, args: LEAF, workingDir: LEAF,
  ports: [{ name: LEAF, hostPort: LEAF, containerPort: LEAF, protocol: LEAF, hostIP: LEAF }],
  envFrom: [{ prefix: LEAF, configMapRef: optionalNameRef, secretRef: optionalNameRef }],
  env: [{
    name: LEAF, value: LEAF,
    valueFrom: { fieldRef: objectFieldSelector, resourceFieldRef: resourceFieldSelector, configMapKeyRef: keySelector, secretKeyRef: keySelector },
  }],
  resources: { limits: LEAF, requests: LEAF, claims: [{ name: LEAF }] },
  resizePolicy: [{ resourceName: LEAF, restartPolicy: LEAF }],
  restartPolicy: LEAF,
  volumeMounts: [{ name: LEAF, readOnly: LEAF, recursiveReadOnly: LEAF, mountPath: LEAF, subPath: LEAF, mountPropagation: LEAF, subPathExpr: LEAF }],
  volumeDevices: [{ name: LEAF, devicePath: LEAF }],
  livenessProbe: probe, readinessProbe: probe, startupProbe: probe,
  lifecycle: { postStart: lifecycleHandler, preStop: lifecycleHandler },
  terminationMessagePath: LEAF, terminationMessagePolicy: LEAF, imagePullPolicy: LEAF, securityContext,
  stdin: LEAF, stdinOnce: LEAF, tty: LEAF,
};

const ephemeralContainer: FieldTree = { ...container, targetContainerName: LEAF };

const volumeResources: FieldTree = { limits: LEAF, requests: LEAF };

export const persistentVolumeClaimSpec: FieldTree = {
  accessModes: LEAF, selector: labelSelector, resources: volumeResources, volumeName: LEAF, storageClassName: LEAF,
  volumeMode: LEAF, dataSource: { apiGroup: LEAF, kind: LEAF, name: LEAF },
  dataSourceRef: { apiGroup: LEAF, kind: LEAF, name: LEAF, namespace: LEAF }, volumeAttributesClassName: LEAF,
};

const downwardAPIFile: readonly [FieldTree] = [{ path: LEAF, fieldRef: objectFieldSelector, resourceFieldRef: resourceFieldSelector, mode: LEAF }];

const volume: FieldTree = {
  name: LEAF,
  hostPath: { path: LEAF, type: LEAF },
  emptyDir: { medium: LEAF, sizeLimit: LEAF },
  gcePersistentDisk: { pdName: LEAF, fsType: LEAF, partition: LEAF, readOnly: LEAF },
  awsElasticBlockStore: { volumeID: LEAF, fsType: LEAF, partition: LEAF, readOnly: LEAF },
  gitRepo: { repository: LEAF, revision: LEAF, directory: LEAF },
  secret: { secretName: LEAF, items: keyToPath, defaultMode: LEAF, optional: LEAF },
  nfs: { server: LEAF, path: LEAF, readOnly: LEAF },
  iscsi: {
    targetPortal: LEAF, iqn: LEAF, lun: LEAF, iscsiInterface: LEAF, fsType: LEAF, readOnly: LEAF, portals: LEAF,
    chapAuthDiscovery: LEAF, chapAuthSession: LEAF, secretRef: nameRef, initiatorName: LEAF,
  },
  glusterfs: { endpoints: LEAF, path: LEAF, readOnly: LEAF },
  persistentVolumeClaim: { claimName: LEAF, readOnly: LEAF },
  rbd: { monitors: LEAF, image: LEAF, fsType: LEAF, pool: LEAF, user: LEAF, keyring: LEAF, secretRef: nameRef, readOnly: LEAF },
  flexVolume: { driver: LEAF, fsType: LEAF, secretRef: nameRef, readOnly: LEAF, options: LEAF },
  cinder: { volumeID: LEAF, fsType: LEAF, readOnly: LEAF, secretRef: nameRef },
  cephfs: { monitors: LEAF, path: LEAF, user: LEAF, secretFile: LEAF, secretRef: nameRef, readOnly: LEAF },
  flocker: { datasetName: LEAF, datasetUUID: LEAF },
  downwardAPI: { items: downwardAPIFile, defaultMode: LEAF },
  fc: { targetWWNs: LEAF, lun: LEAF, fsType: LEAF, readOnly: LEAF, wwids: LEAF },
  azureFile: { secretName: LEAF, shareName: LEAF, readOnly: LEAF },
  configMap: { name: LEAF, items: keyToPath, defaultMode: LEAF, optional: LEAF },
  vsphereVolume: { volumePath: LEAF, fsType: LEAF, storagePolicyName: LEAF, storagePolicyID: LEAF },
  quobyte: { registry: LEAF, volume: LEAF, readOnly: LEAF, user: LEAF, group: LEAF, tenant: LEAF },
  azureDisk: { diskName: LEAF, diskURI: LEAF, cachingMode: LEAF, fsType: LEAF, readOnly: LEAF, kind: LEAF },
  photonPersistentDisk: { pdID: LEAF, fsType: LEAF },
  projected: {
    sources: [{
      secret: { name: LEAF, items: keyToPath, optional: LEAF },
      downwardAPI: { items: downwardAPIFile },
      configMap: { name: LEAF, items: keyToPath, optional: LEAF },
      serviceAccountToken: { audience: LEAF, expirationSeconds: LEAF, path: LEAF },
      clusterTrustBundle: { name: LEAF, signerName: LEAF, labelSelector, optional: LEAF, path: LEAF },
    }],
    defaultMode: LEAF,
  },
  portworxVolume: { volumeID: LEAF, fsType: LEAF, readOnly: LEAF },
  scaleIO: {
    gateway: LEAF, system: LEAF, secretRef: nameRef, sslEnabled: LEAF, protectionDomain: LEAF, storagePool: LEAF,
    storageMode: LEAF, volumeName: LEAF, fsType: LEAF, readOnly: LEAF,
  },
  storageos: { volumeName: LEAF, volumeNamespace: LEAF, fsType: LEAF, readOnly: LEAF, secretRef: nameRef },
  csi: { driver: LEAF, readOnly: LEAF, fsType: LEAF, volumeAttributes: LEAF, nodePublishSecretRef: nameRef },
  ephemeral: { volumeClaimTemplate: { metadata: objectMeta, spec: persistentVolumeClaimSpec } },
  image: { reference: LEAF, pullPolicy: LEAF },
};

const nodeSelectorTerm: FieldTree = { matchExpressions: requirement, matchFields: requirement };
const podAffinityTerm: FieldTree = {
  labelSelector, namespaces: LEAF, topologyKey: LEAF, namespaceSelector: labelSelector, matchLabelKeys: LEAF, mismatchLabelKeys: LEAF,
};
const podAffinity: FieldTree = {
  requiredDuringSchedulingIgnoredDuringExecution: [podAffinityTerm],
  preferredDuringSchedulingIgnoredDuringExecution: [{ weight: LEAF, podAffinityTerm }],
};
const affinity: FieldTree = {
  nodeAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [nodeSelectorTerm] },
    preferredDuringSchedulingIgnoredDuringExecution: [{ weight: LEAF, preference: nodeSelectorTerm }],
  },
  podAffinity,
  podAntiAffinity: podAffinity,
};

export const podSpec: FieldTree = {
  volumes: [volume], initContainers: [container], containers: [container], ephemeralContainers: [ephemeralContainer],
  restartPolicy: LEAF, terminationGracePeriodSeconds: LEAF, activeDeadlineSeconds: LEAF, dnsPolicy: LEAF,
  nodeSelector: LEAF, serviceAccountName: LEAF, serviceAccount: LEAF, automountServiceAccountToken: LEAF,
  nodeName: LEAF, hostNetwork: LEAF, hostPID: LEAF, hostIPC: LEAF, shareProcessNamespace: LEAF,
  securityContext: podSecurityContext, imagePullSecrets: [nameRef], hostname: LEAF, subdomain: LEAF, affinity,
  schedulerName: LEAF, tolerations: [{ key: LEAF, operator: LEAF, value: LEAF, effect: LEAF, tolerationSeconds: LEAF }],
  hostAliases: [{ ip: LEAF, hostnames: LEAF }], priorityClassName: LEAF, priority: LEAF,
  dnsConfig: { nameservers: LEAF, searches: LEAF, options: [{ name: LEAF, value: LEAF }] },
  readinessGates: [{ conditionType: LEAF }], runtimeClassName: LEAF, enableServiceLinks: LEAF, preemptionPolicy: LEAF,
  overhead: LEAF,
  topologySpreadConstraints: [{
    maxSkew: LEAF, topologyKey: LEAF, whenUnsatisfiable: LEAF, labelSelector, minDomains: LEAF, nodeAffinityPolicy: LEAF,
    nodeTaintsPolicy: LEAF, matchLabelKeys: LEAF,
  }],
  setHostnameAsFQDN: LEAF, os: { name: LEAF }, hostUsers: LEAF, schedulingGates: [{ name: LEAF }],
  resourceClaims: [{ name: LEAF, resourceClaimName: LEAF, resourceClaimTemplateName: LEAF }],
};

// `status` is written by the cluster, never by hand; a copied object may carry it, and keelson
// ignores it whole, so its names are not checked.
const typeMeta = { apiVersion: LEAF, kind: LEAF, metadata: objectMeta, status: LEAF } as const;

/** The whole object of each kind keelson reads, by `<apiVersion>/<kind>`. */
export const objectFields: Readonly<Record<string, FieldTree>> = {
  'v1/Pod': { ...typeMeta, spec: podSpec },
  'apps/v1/Deployment': {
    ...typeMeta,
    spec: {
      replicas: LEAF, selector: labelSelector, template: { metadata: objectMeta, spec: podSpec },
      strategy: { type: LEAF, rollingUpdate: { maxUnavailable: LEAF, maxSurge: LEAF } },
      minReadySeconds: LEAF, revisionHistoryLimit: LEAF, paused: LEAF, progressDeadlineSeconds: LEAF,
    },
  },
  'v1/ConfigMap': { apiVersion: LEAF, kind: LEAF, metadata: objectMeta, data: LEAF, binaryData: LEAF, immutable: LEAF },
  'v1/Secret': { apiVersion: LEAF, kind: LEAF, metadata: objectMeta, data: LEAF, stringData: LEAF, type: LEAF, immutable: LEAF },
  'v1/PersistentVolumeClaim': { ...typeMeta, spec: persistentVolumeClaimSpec },
  'v1/Service': {
    ...typeMeta,
    spec: {
      ports: [{ name: LEAF, protocol: LEAF, appProtocol: LEAF, port: LEAF, targetPort: LEAF, nodePort: LEAF }],
      selector: LEAF, clusterIP: LEAF, clusterIPs: LEAF, type: LEAF, externalIPs: LEAF, sessionAffinity: LEAF,
      loadBalancerIP: LEAF, loadBalancerSourceRanges: LEAF, externalName: LEAF, externalTrafficPolicy: LEAF,
      healthCheckNodePort: LEAF, publishNotReadyAddresses: LEAF, sessionAffinityConfig: { clientIP: { timeoutSeconds: LEAF } },
      ipFamilies: LEAF, ipFamilyPolicy: LEAF, allocateLoadBalancerNodePorts: LEAF, loadBalancerClass: LEAF,
      internalTrafficPolicy: LEAF, trafficDistribution: LEAF,
    },
  },
};

export interface UnknownField {
  path: string;
  /** The one known field at the same place whose name is close, if there is exactly one. */
  suggestion?: string;
}

/** Paths of the fields of `value` that are not in `tree`, with a close known name when there is one. */
export function unknownFields(value: unknown, tree: FieldKind, path = ''): UnknownField[] {
  if (tree === LEAF || value === null || typeof value !== 'object') return [];
  if (Array.isArray(tree)) {
    const item = (tree as readonly [FieldTree])[0];
    return Array.isArray(value) ? value.flatMap((v: unknown, i) => unknownFields(v, item, `${path}[${i}]`)) : [];
  }
  if (Array.isArray(value)) return []; // a type error, which the schema reports
  const fields = tree as FieldTree;
  return Object.entries(value as Record<string, unknown>).flatMap(([key, v]) => {
    const child = path ? `${path}.${key}` : key;
    const kind = Object.hasOwn(fields, key) ? fields[key] : undefined;
    if (kind === undefined) {
      const suggestion = closestName(key, Object.keys(fields));
      return [suggestion ? { path: child, suggestion } : { path: child }];
    }
    return unknownFields(v, kind, child);
  });
}

/** The single candidate within a small edit distance of `name` (a typo), or undefined. */
export function closestName(name: string, candidates: string[]): string | undefined {
  const limit = name.length <= 4 ? 1 : 2;
  let best: string[] = [];
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = c.toLowerCase() === name.toLowerCase() ? 0 : editDistance(name, c);
    if (d > limit) continue;
    if (d < bestDistance) [best, bestDistance] = [[c], d];
    else if (d === bestDistance) best.push(c);
  }
  return best.length === 1 ? best[0] : undefined;
}

/** Levenshtein distance with adjacent transpositions (lables -> labels is one edit). */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = rows[i] as number[];
      const prev = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (rows[i - 2]?.[j - 2] as number) + 1);
      row[j] = d;
    }
  }
  return rows[a.length]?.[b.length] as number;
}

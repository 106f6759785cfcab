// Reads Kubernetes manifests (several YAML documents per file) into the pods keelson runs and
// the ConfigMaps, Secrets and PersistentVolumeClaims beside them (Services are skipped, with a
// note). Errors name the document, the field path and the problem; names Kubernetes does not
// have are refused (typos must not run the wrong thing); real fields keelson does not run are
// warned about, never dropped in silence.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parseAllDocuments, type ScalarTag } from 'yaml';
import { InvalidArgumentError } from '../errors.js';
import { fieldPath } from '../field-path.js';
import { LEAF, objectFields, unknownFields } from './api-fields.js';
import { configMapSchema, deploymentSchema, persistentVolumeClaimSchema, podSchema, secretSchema, serviceSchema } from './pod-schema.js';
import type { Deployment, Pod } from './pod-types.js';

/** Manifests are read whole into memory: bound them. */
export const MAX_MANIFEST_BYTES = 4 << 20;

export interface ParsedPod {
  /** "<source>: document N (Kind name)", for messages. */
  origin: string;
  pod: Pod;
  /** The Deployment this pod came from, if any. */
  deployment?: string;
}

/** A ConfigMap or Secret of the file: key -> value (Secret data decoded). */
export interface ParsedKeyObject {
  origin: string;
  namespace: string;
  /** false when the document names no namespace (`run -n` then sets it). */
  namespaceGiven: boolean;
  name: string;
  data: Map<string, string>;
}

/** A PersistentVolumeClaim of the file. */
export interface ParsedClaim {
  origin: string;
  namespace: string;
  namespaceGiven: boolean;
  name: string;
  storageClassName?: string;
  /** spec.resources.requests.storage, as written. */
  storage?: string | number;
}

export interface ParsedManifests {
  pods: ParsedPod[];
  configMaps: ParsedKeyObject[];
  secrets: ParsedKeyObject[];
  claims: ParsedClaim[];
  /** Fields keelson does not run (each named), printed as warnings. */
  warnings: string[];
  /** Objects skipped on purpose (Services), printed as notes. */
  notes: string[];
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validators: Record<string, { validate: ValidateFunction; schema: Record<string, unknown> }> = Object.fromEntries(
  Object.entries({
    'v1/Pod': podSchema, 'apps/v1/Deployment': deploymentSchema, 'v1/ConfigMap': configMapSchema, 'v1/Secret': secretSchema,
    'v1/PersistentVolumeClaim': persistentVolumeClaimSchema, 'v1/Service': serviceSchema,
  }).map(([kind, schema]) => [kind, { validate: ajv.compile(schema), schema }]),
);

/** Real Kubernetes fields keelson accepts and ignores, with why, instead of the generic warning. */
const IGNORED_WITH_REASON: Record<string, string> = {
  serviceAccountName: 'keelson runs pods without service accounts (no API server, no token is mounted)',
  serviceAccount: 'keelson runs pods without service accounts (no API server, no token is mounted)',
  automountServiceAccountToken: 'keelson mounts no service account token (there is no API server)',
};

interface Document {
  origin: string;
  kindKey: string;
  obj: Record<string, unknown>;
}

/**
 * kubectl reads manifests as YAML 1.1, where `0440` is octal (modes such as defaultMode: 0400 in the
 * docs); the yaml package's 1.2 core schema would read it as decimal 440.
 */
const LEGACY_OCTAL: ScalarTag = {
  identify: (v) => typeof v === 'number', default: true, tag: 'tag:yaml.org,2002:int', format: 'OCT',
  test: /^0[0-7]+$/, resolve: (s) => parseInt(s, 8),
};

export function parseManifests(text: string, source: string): ParsedManifests {
  if (Buffer.byteLength(text) > MAX_MANIFEST_BYTES) {
    throw new InvalidArgumentError(`${source}: larger than ${MAX_MANIFEST_BYTES} bytes`);
  }
  const out: ParsedManifests = { pods: [], configMaps: [], secrets: [], claims: [], warnings: [], notes: [] };
  const docs = readDocuments(text, source);
  // Every misspelt field of every document at once, as `kubectl apply --validate=strict`, and
  // before the type checks: a typo otherwise shows up as a confusing "image is required".
  const unknown = docs.flatMap(({ origin, kindKey, obj }) =>
    unknownFields(obj, objectFields[kindKey] ?? LEAF).map((f) =>
      `${origin}: unknown field "${f.path}"${f.suggestion ? ` (did you mean "${f.suggestion}"?)` : ''}`));
  if (unknown.length > 0) throw new InvalidArgumentError(unknown.join('\n'));
  for (const { origin, kindKey, obj } of docs) {
    const checker = validators[kindKey] as (typeof validators)[string];
    if (!checker.validate(obj)) {
      const problems = (checker.validate.errors ?? []).map(describeError);
      throw new InvalidArgumentError(`${origin}: ${[...new Set(problems)].join('; ')}`);
    }
    for (const path of unsupportedFields(obj, checker.schema, '')) {
      const reason = IGNORED_WITH_REASON[path.split('.').pop() ?? ''];
      out.warnings.push(`${origin}: ${path} ${reason ? `is ignored: ${reason}` : 'is not supported by keelson and is ignored'}`);
    }
    const metadata = obj.metadata as { name: string; namespace?: string };
    const namespace = metadata.namespace ?? 'default';
    const namespaceGiven = metadata.namespace !== undefined;
    switch (obj.kind) {
      case 'Pod': out.pods.push({ origin, pod: obj as unknown as Pod }); break;
      case 'Deployment': out.pods.push(...expandDeployment(obj as unknown as Deployment, origin)); break;
      case 'ConfigMap': out.configMaps.push({ origin, namespace, namespaceGiven, name: metadata.name, data: configMapData(obj, origin) }); break;
      case 'Secret': out.secrets.push({ origin, namespace, namespaceGiven, name: metadata.name, data: secretData(obj, origin) }); break;
      case 'PersistentVolumeClaim': {
        const spec = obj.spec as { storageClassName?: string; resources?: { requests?: { storage?: string | number } } } | undefined;
        out.claims.push({
          origin, namespace, namespaceGiven, name: metadata.name,
          ...(spec?.storageClassName ? { storageClassName: spec.storageClassName } : {}),
          ...(spec?.resources?.requests?.storage !== undefined ? { storage: spec.resources.requests.storage } : {}),
        });
        break;
      }
      case 'Service':
        out.notes.push(`${origin}: Service ${namespace === 'default' ? '' : `${namespace}/`}${metadata.name}: skipped; keelson has no service proxy, use hostPort or \`keelson port-forward\``);
        break;
    }
  }
  checkUniqueNames(out.pods);
  for (const [kind, list] of [['ConfigMap', out.configMaps], ['Secret', out.secrets], ['PersistentVolumeClaim', out.claims]] as const) {
    checkUniqueObjects(kind, list);
  }
  return out;
}

function readDocuments(text: string, source: string): Document[] {
  const documents = parseAllDocuments(text, { customTags: (tags) => [LEGACY_OCTAL, ...tags] });
  const list = Array.isArray(documents) ? documents : [documents];
  const out: Document[] = [];
  list.forEach((doc, index) => {
    const where = `${source}: document ${index + 1}`;
    if (doc.errors.length > 0) {
      throw new InvalidArgumentError(`${where}: not valid YAML: ${doc.errors[0]?.message ?? 'parse error'}`);
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return; // an empty document between separators
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new InvalidArgumentError(`${where}: must be a mapping with apiVersion and kind`);
    }
    const obj = value as Record<string, unknown>;
    const kindKey = `${String(obj.apiVersion)}/${String(obj.kind)}`;
    const name = (obj.metadata as { name?: unknown } | undefined)?.name;
    const origin = `${where} (${String(obj.kind)}${typeof name === 'string' ? ` ${name}` : ''})`;
    if (!validators[kindKey]) {
      throw new InvalidArgumentError(
        `${origin}: apiVersion "${String(obj.apiVersion)}" kind "${String(obj.kind)}" is not supported ` +
          '(keelson runs v1 Pod and apps/v1 Deployment, and reads v1 ConfigMap, Secret and PersistentVolumeClaim; v1 Service is skipped)',
      );
    }
    out.push({ origin, kindKey, obj });
  });
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** base64 (standard alphabet, padded, as Kubernetes stores bytes) to text. */
function decodeBase64(value: string, where: string): string {
  if (value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw new InvalidArgumentError(`${where} is not valid base64`);
  try {
    return utf8.decode(Buffer.from(value, 'base64'));
  } catch {
    // Volumes and env take text here; writing the bytes re-encoded would corrupt them silently.
    throw new InvalidArgumentError(`${where} is binary (not UTF-8), which keelson cannot project yet`);
  }
}

function configMapData(obj: Record<string, unknown>, origin: string): Map<string, string> {
  const data = new Map(Object.entries((obj.data ?? {}) as Record<string, string>));
  for (const [key, value] of Object.entries((obj.binaryData ?? {}) as Record<string, string>)) {
    if (data.has(key)) throw new InvalidArgumentError(`${origin}: key "${key}" is in both data and binaryData`);
    data.set(key, decodeBase64(value, `${origin}: binaryData.${key}`));
  }
  return data;
}

/** data is base64; stringData is plain and wins over data for the same key, as the API server merges them. */
function secretData(obj: Record<string, unknown>, origin: string): Map<string, string> {
  const data = new Map(Object.entries((obj.data ?? {}) as Record<string, string>).map(([k, v]) => [k, decodeBase64(v, `${origin}: data.${k}`)]));
  for (const [key, value] of Object.entries((obj.stringData ?? {}) as Record<string, string>)) data.set(key, value);
  return data;
}

function checkUniqueObjects(kind: string, list: readonly { origin: string; namespace: string; name: string }[]): void {
  const seen = new Map<string, string>();
  for (const o of list) {
    const key = `${o.namespace}/${o.name}`;
    const first = seen.get(key);
    if (first) throw new InvalidArgumentError(`${o.origin}: ${kind} ${key} is also defined by ${first}`);
    seen.set(key, o.origin);
  }
}

/** A Deployment runs its template `replicas` times (default 1), as pods <name>-<n>. */
function expandDeployment(dep: Deployment, origin: string): ParsedPod[] {
  const replicas = dep.spec.replicas ?? 1;
  const selector = dep.spec.selector?.matchLabels ?? {};
  const labels = dep.spec.template.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(selector)) {
    if (labels[k] !== v) {
      throw new InvalidArgumentError(`${origin}: spec.selector.matchLabels.${k} does not match spec.template.metadata.labels`);
    }
  }
  return Array.from({ length: replicas }, (_, i) => ({
    origin,
    deployment: dep.metadata.name,
    pod: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${dep.metadata.name}-${i}`,
        namespace: dep.metadata.namespace,
        labels: { ...labels },
        annotations: { ...(dep.spec.template.metadata?.annotations ?? {}) },
      },
      spec: structuredClone(dep.spec.template.spec),
    },
  }));
}

function checkUniqueNames(pods: ParsedPod[]): void {
  const seen = new Map<string, string>();
  for (const { origin, pod } of pods) {
    const key = `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`;
    const first = seen.get(key);
    if (first) throw new InvalidArgumentError(`${origin}: pod ${key} is also defined by ${first}`);
    seen.set(key, origin);
  }
  for (const { origin, pod } of pods) {
    const names = new Set<string>();
    for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
      if (names.has(c.name)) throw new InvalidArgumentError(`${origin}: container name "${c.name}" is used twice`);
      names.add(c.name);
    }
    const volumes = new Set((pod.spec.volumes ?? []).map((v) => v.name));
    for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
      (c.volumeMounts ?? []).forEach((m, i) => {
        if (!volumes.has(m.name)) {
          throw new InvalidArgumentError(`${origin}: container ${c.name} volumeMounts[${i}].name "${m.name}" is not in spec.volumes`);
        }
      });
    }
  }
}

/** Paths of fields present in `value` that the schema does not describe. */
function unsupportedFields(value: unknown, schema: Record<string, unknown>, path: string): string[] {
  if (Array.isArray(value)) {
    const items = schema.items as Record<string, unknown> | undefined;
    return items ? value.flatMap((v, i) => unsupportedFields(v, items, `${path}[${i}]`)) : [];
  }
  if (value === null || typeof value !== 'object') return [];
  const props = schema.properties as Record<string, Record<string, unknown>> | undefined;
  if (!props) return []; // a free-form map (labels, limits)
  return Object.entries(value as Record<string, unknown>).flatMap(([key, v]) => {
    const child = path ? `${path}.${key}` : key;
    const sub = props[key];
    return sub ? unsupportedFields(v, sub, child) : [child];
  });
}

function describeError(e: ErrorObject): string {
  const path = fieldPath(e.instancePath);
  if (e.keyword === 'required') {
    const missing = (e.params as { missingProperty: string }).missingProperty;
    return `${path ? `${path}.` : ''}${missing} is required`;
  }
  if (e.keyword === 'enum') {
    const allowed = (e.params as { allowedValues: unknown[] }).allowedValues;
    return `${path} must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`;
  }
  if (e.keyword === 'pattern') return `${path} has an invalid value`;
  return `${path || '(document)'} ${e.message ?? 'is invalid'}`;
}

// Reads Kubernetes manifests (several YAML documents per file) into the pods keelson runs.
// Errors name the document, the field path and the problem; fields keelson does not run are
// warned about, never dropped in silence.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parseAllDocuments, type ScalarTag } from 'yaml';
import { InvalidArgumentError } from '../errors.js';
import { fieldPath } from '../field-path.js';
import { deploymentSchema, podSchema } from './pod-schema.js';
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

export interface ParsedManifests {
  pods: ParsedPod[];
  warnings: string[];
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validators: Record<string, { validate: ValidateFunction; schema: Record<string, unknown> }> = {
  'v1/Pod': { validate: ajv.compile(podSchema), schema: podSchema },
  'apps/v1/Deployment': { validate: ajv.compile(deploymentSchema), schema: deploymentSchema },
};

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
  const pods: ParsedPod[] = [];
  const warnings: string[] = [];
  const documents = parseAllDocuments(text, { customTags: (tags) => [LEGACY_OCTAL, ...tags] });
  const list = Array.isArray(documents) ? documents : [documents];
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
    const checker = validators[kindKey];
    if (!checker) {
      throw new InvalidArgumentError(
        `${origin}: apiVersion "${String(obj.apiVersion)}" kind "${String(obj.kind)}" is not supported ` +
          '(keelson runs v1 Pod and apps/v1 Deployment)',
      );
    }
    if (!checker.validate(obj)) {
      const problems = (checker.validate.errors ?? []).map(describeError);
      throw new InvalidArgumentError(`${origin}: ${[...new Set(problems)].join('; ')}`);
    }
    for (const path of unsupportedFields(obj, checker.schema, '')) {
      warnings.push(`${origin}: ${path} is not supported by keelson and is ignored`);
    }
    if (obj.kind === 'Pod') {
      pods.push({ origin, pod: obj as unknown as Pod });
    } else {
      pods.push(...expandDeployment(obj as unknown as Deployment, origin));
    }
  });
  checkUniqueNames(pods);
  return { pods, warnings };
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

// The contents of downwardAPI volume files, as kubelet writes them. Pure: no I/O.
import { cpus, totalmem } from 'node:os';
import { InvalidArgumentError } from '../errors.js';
import type { DownwardAPIFile, Pod } from '../kube/pod-types.js';
import { bytesOf, cpuMillis } from '../kube/quantity.js';

/** Go's %q for a string: backslash escapes for quotes and control characters. */
export function goQuote(s: string): string {
  const named: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '"': '\\"', '\\': '\\\\' };
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (named[ch] !== undefined) out += named[ch];
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code >= 0x80 && code < 0xa0) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** labels/annotations as kubelet writes them: sorted `key="value"` lines. */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {}).sort().map((k) => `${k}=${goQuote(m?.[k] ?? '')}`).join('\n');
}

export interface NodeCapacity { cpuMillis: number; memoryBytes: number }

export function nodeCapacity(): NodeCapacity {
  return { cpuMillis: cpus().length * 1000, memoryBytes: totalmem() };
}

function resourceValue(pod: Pod, ref: NonNullable<DownwardAPIFile['resourceFieldRef']>, where: string, node: NodeCapacity): string {
  const c = ref.containerName !== undefined ? pod.spec.containers.find((x) => x.name === ref.containerName) : pod.spec.containers.length === 1 ? pod.spec.containers[0] : undefined;
  if (!c) throw new InvalidArgumentError(`${where}.resourceFieldRef.containerName "${ref.containerName ?? ''}" does not name a container (required when the pod has several)`);
  const [kind, resource] = ref.resource.split('.', 2) as [string, string | undefined];
  if ((kind !== 'limits' && kind !== 'requests') || (resource !== 'cpu' && resource !== 'memory')) {
    throw new InvalidArgumentError(`${where}.resourceFieldRef.resource "${ref.resource}" is not supported (limits.cpu, limits.memory, requests.cpu, requests.memory)`);
  }
  // kubelet: an unset limit is the node's allocatable; an unset request falls back to the limit (API defaulting), else 0.
  const set = kind === 'limits' ? c.resources?.limits?.[resource] : (c.resources?.requests?.[resource] ?? c.resources?.limits?.[resource]);
  const field = `${where}.resourceFieldRef`;
  if (resource === 'cpu') {
    const have = set !== undefined ? cpuMillis(set, field) : kind === 'limits' ? node.cpuMillis : 0;
    const div = cpuMillis(ref.divisor ?? '1', `${field}.divisor`);
    if (div <= 0) throw new InvalidArgumentError(`${field}.divisor must be positive`);
    return String(Math.ceil(have / div));
  }
  const have = set !== undefined ? bytesOf(set, field) : kind === 'limits' ? node.memoryBytes : 0;
  const div = bytesOf(ref.divisor ?? '1', `${field}.divisor`);
  if (div <= 0) throw new InvalidArgumentError(`${field}.divisor must be positive`);
  return String(Math.ceil(have / div));
}

/**
 * The pod metadata both the env (fieldRef) and downwardAPI volumes read: name, namespace, uid,
 * one label or annotation by key; undefined for any other path.
 */
export function metadataField(pod: Pod, path: string): string | undefined {
  const label = /^metadata\.labels\['(.+)'\]$/.exec(path);
  if (label) return pod.metadata.labels?.[label[1] ?? ''] ?? '';
  const annotation = /^metadata\.annotations\['(.+)'\]$/.exec(path);
  if (annotation) return pod.metadata.annotations?.[annotation[1] ?? ''] ?? '';
  switch (path) {
    case 'metadata.name': return pod.metadata.name;
    case 'metadata.namespace': return pod.metadata.namespace ?? 'default';
    case 'metadata.uid': return pod.metadata.uid ?? '';
    default: return undefined;
  }
}

/** One downwardAPI file's contents; `where` names the item in errors. */
export function downwardValue(pod: Pod, f: DownwardAPIFile, where: string, node: NodeCapacity = nodeCapacity()): string {
  if (f.resourceFieldRef) return resourceValue(pod, f.resourceFieldRef, where, node);
  const path = f.fieldRef?.fieldPath;
  if (path === undefined) throw new InvalidArgumentError(`${where}: needs fieldRef or resourceFieldRef`);
  const meta = metadataField(pod, path);
  if (meta !== undefined) return meta;
  switch (path) {
    case 'metadata.labels': return formatMap(pod.metadata.labels);
    case 'metadata.annotations': return formatMap(pod.metadata.annotations);
    default: throw new InvalidArgumentError(`${where}.fieldRef.fieldPath "${path}" is not supported in a downwardAPI volume (metadata.name, metadata.namespace, metadata.uid, metadata.labels, metadata.annotations)`);
  }
}

// Reads a manifest file, or stdin for `-`, bounded as manifests are.
import { readFileSync, statSync } from 'node:fs';
import { InvalidArgumentError } from '../errors.js';
import type { ParsedManifests } from '../kube/manifest.js';

/** As kube/manifest.ts's MAX_MANIFEST_BYTES; that module (ajv schemas) is loaded only when a manifest is read. */
const MAX_MANIFEST_BYTES = 4 << 20;

export async function readManifests(file: string): Promise<ParsedManifests> {
  let text: string;
  if (file === '-') {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_MANIFEST_BYTES) throw new InvalidArgumentError(`stdin: larger than ${MAX_MANIFEST_BYTES} bytes`);
      chunks.push(chunk);
    }
    text = Buffer.concat(chunks).toString('utf8');
  } else {
    const st = statSync(file, { throwIfNoEntry: false });
    if (!st) throw new InvalidArgumentError(`${file} does not exist`);
    if (st.size > MAX_MANIFEST_BYTES) throw new InvalidArgumentError(`${file}: larger than ${MAX_MANIFEST_BYTES} bytes`);
    text = readFileSync(file, 'utf8');
  }
  const { parseManifests } = await import('../kube/manifest.js');
  return parseManifests(text, file === '-' ? 'stdin' : file);
}

/**
 * `-n NS`, as kubectl's: pods without a namespace get NS; a pod that names another namespace is
 * an error (kubectl refuses to move an object to another namespace).
 */
export function applyNamespace(parsed: ParsedManifests, namespace: string | undefined): ParsedManifests {
  if (namespace === undefined) return parsed;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace) || namespace.length > 63) {
    throw new InvalidArgumentError(`-n "${namespace}": a namespace is a DNS label (lower-case letters, digits and '-', at most 63)`);
  }
  const seen = new Set<string>();
  for (const { origin, pod } of parsed.pods) {
    const own = pod.metadata.namespace;
    if (own !== undefined && own !== namespace) {
      throw new InvalidArgumentError(`${origin}: the namespace from the provided object "${own}" does not match the namespace "${namespace}" given with -n`);
    }
    pod.metadata.namespace = namespace;
    const key = `${namespace}/${pod.metadata.name}`;
    if (seen.has(key)) throw new InvalidArgumentError(`${origin}: pod ${key} is defined twice`);
    seen.add(key);
  }
  // The file's ConfigMaps, Secrets and claims go to the same namespace, so its pods still see them.
  for (const o of [...parsed.configMaps, ...parsed.secrets, ...parsed.claims]) {
    if (o.namespaceGiven && o.namespace !== namespace) {
      throw new InvalidArgumentError(`${o.origin}: the namespace from the provided object "${o.namespace}" does not match the namespace "${namespace}" given with -n`);
    }
    o.namespace = namespace;
  }
  return parsed;
}

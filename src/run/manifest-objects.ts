// The objects of a manifest file that are not pods, put to work for the pods beside them:
// ConfigMaps and Secrets become the sources of their configMap/secret volumes and env refs (a
// --configmap/--secret flag of the same name wins), and PersistentVolumeClaims bind the pods'
// claims to a volume, as a cluster's provisioner would.
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import type { ParsedClaim, ParsedKeyObject } from '../kube/manifest.js';
import type { Pod, VolumeSpec } from '../kube/pod-types.js';
import { bytesOf } from '../kube/quantity.js';
import type { VolumeSources } from './volumes.js';

/**
 * The sources a pod of `namespace` sees: the file's objects of that namespace (as in a cluster,
 * a pod never sees another namespace's), then the flags, which win over a file object of the
 * same name so a local run can swap in other data without editing the manifest.
 */
export function sourcesFor(
  namespace: string, file: { configMaps: ParsedKeyObject[]; secrets: ParsedKeyObject[] }, flags: VolumeSources, say: (line: string) => void,
): VolumeSources {
  const pick = (objects: ParsedKeyObject[], given: Map<string, Map<string, string>>, kind: string, flag: string): Map<string, Map<string, string>> => {
    const out = new Map(objects.filter((o) => o.namespace === namespace).map((o) => [o.name, o.data]));
    for (const [name, data] of given) {
      const object = objects.find((o) => o.namespace === namespace && o.name === name);
      if (object) say(`note: ${kind} ${name}: --${flag} ${name}=... is used instead of ${object.origin}`);
      out.set(name, data);
    }
    return out;
  };
  return {
    configMaps: pick(file.configMaps, flags.configMaps, 'configMap', 'configmap'),
    secrets: pick(file.secrets, flags.secrets, 'secret', 'secret'),
  };
}

/** What binding a claim needs of the daemon's keelson.v1.Volumes (VolumesClient has it). */
export interface ClaimVolumes {
  plugins(): Promise<Array<{ name: string }>>;
  list(): Promise<Array<{ name: string; driver: string }>>;
  create(name: string, driver: string, sizeBytes: number, parameters: Record<string, string>): Promise<unknown>;
}

/** Where a claim of the file that no CSI plugin provisions keeps its data: kept across `down` and `run`. */
export function claimDir(root: string, namespace: string, claim: string): string {
  return join(root, 'volumes', `${namespace}_${claim}`);
}

/**
 * The pod with each persistentVolumeClaim that names a PVC of the file bound: a storageClassName
 * naming a CSI plugin of the daemon gives a keelson named volume of that plugin (created on
 * first use with the requested size; the pod then uses it as any named volume), anything else
 * a local dir under <root>/volumes/ bound like a hostPath. Claims not in the file stay as they
 * are: names of volumes made by `keelson volume create`.
 */
export async function bindClaims(
  pod: Pod, claims: ParsedClaim[], root: string, volumes: () => ClaimVolumes, say: (line: string) => void,
): Promise<Pod> {
  const namespace = pod.metadata.namespace ?? 'default';
  const specs = pod.spec.volumes ?? [];
  if (!specs.some((v) => v.persistentVolumeClaim && claims.some((c) => c.namespace === namespace && c.name === v.persistentVolumeClaim?.claimName))) {
    return pod;
  }
  const bound: VolumeSpec[] = [];
  const readOnlyLocal = new Set<string>();
  for (const v of specs) {
    const claim = v.persistentVolumeClaim && claims.find((c) => c.namespace === namespace && c.name === v.persistentVolumeClaim?.claimName);
    if (!claim) {
      bound.push(v);
      continue;
    }
    const driver = claim.storageClassName;
    if (driver !== undefined && (await volumes().plugins()).some((p) => p.name === driver)) {
      await ensureNamedVolume(volumes(), claim, driver);
      bound.push(v);
      continue;
    }
    if (driver !== undefined) {
      say(`warning: ${claim.origin}: storageClassName "${driver}" is not a CSI plugin of the daemon (see \`keelson plugins\`); using a local dir`);
    }
    const dir = claimDir(root, namespace, claim.name);
    await mkdir(dir, { recursive: true, mode: 0o777 });
    await chmod(dir, 0o777); // past the umask: any container user may write, as a fresh volume
    bound.push({ name: v.name, hostPath: { path: dir, type: 'Directory' } });
    if (v.persistentVolumeClaim?.readOnly === true) readOnlyLocal.add(v.name);
  }
  const spec = structuredClone(pod.spec);
  spec.volumes = bound;
  // A hostPath has no readOnly of its own: the claim's moves to every mount of it.
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    for (const m of c.volumeMounts ?? []) if (readOnlyLocal.has(m.name)) m.readOnly = true;
  }
  return { ...pod, spec };
}

async function ensureNamedVolume(volumes: ClaimVolumes, claim: ParsedClaim, driver: string): Promise<void> {
  const existing = (await volumes.list()).find((v) => v.name === claim.name);
  if (existing) {
    if (existing.driver !== driver) {
      throw new InvalidArgumentError(`${claim.origin}: volume ${claim.name} exists with driver ${existing.driver}, not storageClassName "${driver}"`);
    }
    return;
  }
  const size = claim.storage === undefined ? 0 : bytesOf(claim.storage, `${claim.origin}: spec.resources.requests.storage`);
  await volumes.create(claim.name, driver, size, {});
}

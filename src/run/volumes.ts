// A pod's volumes on the host, made by the CLI before the sandbox: the CLI runs as root on the
// daemon's host (it needs the daemon's socket, which is root-only), so it makes the dirs and the
// tmpfs of emptyDir medium Memory itself under <root>/pod-volumes/<ns>_<name>_<uid>/, and
// `keelson down`/`rm` remove them. A daemon-side service would add a protocol for no gain here.
import { lstatSync, readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { chmod, lchown, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import type { Mount, MountPropagation } from '../cri/generated/cri-types.js';
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import type { ContainerSpec, DownwardAPIFile, KeyToPath, Pod, VolumeSpec } from '../kube/pod-types.js';
import { downwardValue } from './downward.js';
import { bytesOf } from '../kube/quantity.js';
import type { PodVolumeRequest } from '../csi/node-volumes.js';
import { resolveSubPath, unpin } from './subpath.js';

/** Bounded like manifests: a configMap or secret file is read whole. */
const MAX_SOURCE_BYTES = 1 << 20;

/** Reads `--configmap NAME=DIR|FILE`: a dir gives one key per regular file, a file one key (its name). */
export function readKeySource(flag: string, option: string): { name: string; data: Map<string, string> } {
  const eq = flag.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`--${option} "${flag}": expected NAME=DIR|FILE`);
  const name = flag.slice(0, eq);
  const path = flag.slice(eq + 1);
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) throw new InvalidArgumentError(`--${option} ${name}: ${path} does not exist`);
  const data = new Map<string, string>();
  const readOne = (file: string, key: string): void => {
    if (statSync(file).size > MAX_SOURCE_BYTES) throw new InvalidArgumentError(`--${option} ${name}: ${file} is larger than ${MAX_SOURCE_BYTES} bytes`);
    data.set(key, readFileSync(file, 'utf8'));
  };
  if (st.isDirectory()) {
    for (const entry of readdirSync(path, { withFileTypes: true })) if (entry.isFile()) readOne(join(path, entry.name), entry.name);
  } else {
    readOne(path, path.split('/').pop() ?? path);
  }
  return { name, data };
}

export interface VolumeSources {
  configMaps: Map<string, Map<string, string>>;
  secrets: Map<string, Map<string, string>>;
}

/** Host paths of each volume, by name. */
export type PreparedVolumes = Map<string, string>;

export function podVolumeDir(root: string, key: string): string {
  return join(root, 'pod-volumes', key);
}

/** One file of a projected volume: its path inside the volume, contents and mode. */
interface VolumeFile { path: string; value: string; mode: number }

/** The files of a configMap/secret (or projected source) by items, or every key when none are given. */
function keyFiles(data: Map<string, string>, items: KeyToPath[] | undefined, mode: number, where: string, optional: boolean): VolumeFile[] {
  const entries: KeyToPath[] = items ?? [...data.keys()].map((key) => ({ key, path: key }));
  return entries.flatMap((item, i): VolumeFile[] => {
    const value = data.get(item.key);
    if (value === undefined) {
      if (optional) return [];
      throw new InvalidArgumentError(`${where}.items[${i}].key "${item.key}" is not in the source`);
    }
    return [{ path: item.path, value, mode: item.mode ?? mode }];
  });
}

function downwardFiles(pod: Pod, items: DownwardAPIFile[] | undefined, mode: number, where: string): VolumeFile[] {
  return (items ?? []).map((f, i) => ({ path: f.path, value: downwardValue(pod, f, `${where}.items[${i}]`), mode: f.mode ?? mode }));
}

async function project(dir: string, files: VolumeFile[], where: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  for (const [i, f] of files.entries()) {
    const rel = normalize(f.path);
    if (isAbsolute(rel) || rel === '..' || rel.startsWith('../') || rel === '.') throw new InvalidArgumentError(`${where}.items[${i}].path "${f.path}" must be relative and stay inside the volume`);
    const file = join(dir, rel);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, f.value, { mode: f.mode });
    await chmod(file, f.mode);
  }
}

function configMapData(src: VolumeSources, name: string, optional: boolean | undefined, where: string): Map<string, string> {
  const data = src.configMaps.get(name);
  if (!data && !optional) throw new NotFoundError(`${where}: configMap "${name}" not given (use --configmap ${name}=DIR|FILE)`);
  return data ?? new Map();
}

function secretData(src: VolumeSources, name: string, optional: boolean | undefined, where: string): Map<string, string> {
  const data = src.secrets.get(name);
  if (!data && !optional) throw new NotFoundError(`${where}: secret "${name}" not given (use --secret ${name}=DIR|FILE)`);
  return data ?? new Map();
}

function projectedFiles(pod: Pod, v: NonNullable<VolumeSpec['projected']>, where: string, src: VolumeSources): VolumeFile[] {
  const mode = v.defaultMode ?? 0o644;
  return (v.sources ?? []).flatMap((s, i): VolumeFile[] => {
    const at = `${where}.sources[${i}]`;
    if (s.configMap) return keyFiles(configMapData(src, s.configMap.name, s.configMap.optional, `${at}.configMap`), s.configMap.items, mode, `${at}.configMap`, s.configMap.optional === true);
    if (s.secret) return keyFiles(secretData(src, s.secret.name, s.secret.optional, `${at}.secret`), s.secret.items, mode, `${at}.secret`, s.secret.optional === true);
    if (s.downwardAPI) return downwardFiles(pod, s.downwardAPI.items, mode, `${at}.downwardAPI`);
    return []; // serviceAccountToken (no API server to mint one): warned as ignored by the manifest check
  });
}

const HOST_PATH_TYPES: Record<string, (path: string) => string | null> = {
  Directory: (p) => (lstatSync(p, { throwIfNoEntry: false })?.isDirectory() ? null : 'is not a directory'),
  File: (p) => (statSync(p, { throwIfNoEntry: false })?.isFile() ? null : 'is not a file'),
  Socket: (p) => (statSync(p, { throwIfNoEntry: false })?.isSocket() ? null : 'is not a socket'),
  CharDevice: (p) => (statSync(p, { throwIfNoEntry: false })?.isCharacterDevice() ? null : 'is not a character device'),
  BlockDevice: (p) => (statSync(p, { throwIfNoEntry: false })?.isBlockDevice() ? null : 'is not a block device'),
};

async function prepareOne(pod: Pod, v: VolumeSpec, i: number, base: string, src: VolumeSources): Promise<string> {
  const where = `spec.volumes[${i}]`;
  // Published by the daemon after the sandbox exists (csiVolumeRequests, runner.ts).
  if (v.csi || v.persistentVolumeClaim) return '';
  // The runtime mounts an image volume itself (CRI Mount.image): nothing to make here.
  if (v.image) return '';
  if (v.hostPath) {
    const path = v.hostPath.path;
    if (!isAbsolute(path)) throw new InvalidArgumentError(`${where}.hostPath.path "${path}" must be absolute`);
    const type = v.hostPath.type ?? '';
    if (type === 'DirectoryOrCreate') await mkdir(path, { recursive: true, mode: 0o755 });
    else if (type === 'FileOrCreate') {
      if (!statSync(path, { throwIfNoEntry: false })) {
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, '', { mode: 0o644 });
      }
    } else if (type !== '') {
      const check = HOST_PATH_TYPES[type];
      if (!check) throw new InvalidArgumentError(`${where}.hostPath.type "${type}" is not a hostPath type`);
      const problem = check(path);
      if (problem) throw new InvalidArgumentError(`${where}.hostPath: ${path} ${problem} (type ${type})`);
    }
    return path;
  }
  const dir = join(base, v.name);
  if (v.configMap) {
    const at = `${where}.configMap`;
    const data = configMapData(src, v.configMap.name, v.configMap.optional, at);
    await project(dir, keyFiles(data, v.configMap.items, v.configMap.defaultMode ?? 0o644, at, v.configMap.optional === true), at);
    return dir;
  }
  if (v.secret) {
    const at = `${where}.secret`;
    const data = secretData(src, v.secret.secretName, v.secret.optional, at);
    await project(dir, keyFiles(data, v.secret.items, v.secret.defaultMode ?? 0o644, at, v.secret.optional === true), at);
    return dir;
  }
  if (v.downwardAPI) {
    await project(dir, downwardFiles(pod, v.downwardAPI.items, v.downwardAPI.defaultMode ?? 0o644, `${where}.downwardAPI`), `${where}.downwardAPI`);
    return dir;
  }
  if (v.projected) {
    await project(dir, projectedFiles(pod, v.projected, `${where}.projected`, src), `${where}.projected`);
    return dir;
  }
  // emptyDir, also the default when no source is given.
  await mkdir(dir, { recursive: true, mode: 0o777 });
  await chmod(dir, 0o777);
  if (v.emptyDir?.medium === 'Memory') {
    const size = v.emptyDir.sizeLimit !== undefined ? bytesOf(v.emptyDir.sizeLimit, `${where}.emptyDir.sizeLimit`) : 0;
    // The native addon is loaded on demand: every CLI command loads this module, few mount.
    const { mount } = await import('../native.js');
    await mount('tmpfs', dir, 'tmpfs', ['nosuid', 'nodev'], `mode=0777${size > 0 ? `,size=${size}` : ''}`);
  }
  return dir;
}

/** Makes every volume of the pod; on failure removes what it made. */
export async function prepareVolumes(pod: Pod, base: string, src: VolumeSources): Promise<PreparedVolumes> {
  const out: PreparedVolumes = new Map();
  try {
    await mkdir(base, { recursive: true, mode: 0o711 });
    const fsGroup = pod.spec.securityContext?.fsGroup;
    const policy = pod.spec.securityContext?.fsGroupChangePolicy ?? 'Always';
    for (const [i, v] of (pod.spec.volumes ?? []).entries()) {
      const dir = await prepareOne(pod, v, i, base, src);
      out.set(v.name, dir);
      const writable = fsGroupWritable(v);
      if (fsGroup !== undefined && writable !== undefined) await applyFsGroup(dir, fsGroup, writable, policy);
    }
    return out;
  } catch (err) {
    await removeVolumes(base);
    throw err;
  }
}

/**
 * Which volumes kubelet gives to fsGroup, and whether they are writable: emptyDir (rw) and the
 * projected kinds (ro). hostPath is left alone; CSI/PVC volumes are published by the daemon and
 * keelson does not know their driver's fsGroupPolicy, so they are left alone too.
 */
function fsGroupWritable(v: VolumeSpec): boolean | undefined {
  if (v.hostPath || v.csi || v.persistentVolumeClaim || v.image) return undefined;
  return !(v.configMap || v.secret || v.downwardAPI || v.projected);
}

/** kubelet's SetVolumeOwnership: group fsGroup, g+r (g+rw if writable), dirs g+x and setgid. */
export async function applyFsGroup(dir: string, fsGroup: number, writable: boolean, policy: 'Always' | 'OnRootMismatch'): Promise<void> {
  const mask = writable ? 0o660 : 0o440;
  const want = (st: Stats): number => (st.mode & 0o7777) | mask | (st.isDirectory() ? 0o2110 : 0);
  const root = lstatSync(dir);
  // OnRootMismatch: a root that already has the group and modes means the tree is done.
  if (policy === 'OnRootMismatch' && root.gid === fsGroup && (root.mode & 0o7777) === want(root)) return;
  const walk = async (path: string): Promise<void> => {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return;
    await lchown(path, st.uid, fsGroup);
    await chmod(path, want(st));
    if (st.isDirectory()) for (const name of readdirSync(path)) await walk(join(path, name));
  };
  await walk(dir);
}

/** Unmounts tmpfs volumes and removes the pod's volume dir; a missing dir is fine. */
export async function removeVolumes(base: string): Promise<void> {
  if (!statSync(base, { throwIfNoEntry: false })) return;
  const { umount } = await import('../native.js');
  const pins = subPathPinDir(base);
  if (statSync(pins, { throwIfNoEntry: false })) for (const name of readdirSync(pins)) await unpin(join(pins, name), umount);
  const entries = readdirSync(base, { withFileTypes: true });
  for (const e of entries) {
    const dir = join(base, e.name);
    for (;;) {
      try {
        await umount(dir, { detach: true });
      } catch {
        break; // not (or no longer) a mount point
      }
    }
  }
  await rm(base, { recursive: true, force: true });
}

/**
 * The pod's CSI volumes as the daemon publishes them: inline `csi` volumes (their
 * nodePublishSecretRef read from --secret) and `persistentVolumeClaim`s naming keelson volumes.
 */
export function csiVolumeRequests(pod: Pod, src: VolumeSources): PodVolumeRequest[] {
  const out: PodVolumeRequest[] = [];
  for (const [i, v] of (pod.spec.volumes ?? []).entries()) {
    if (v.persistentVolumeClaim) {
      out.push({ name: v.name, source: { kind: 'named', volume: v.persistentVolumeClaim.claimName, readOnly: v.persistentVolumeClaim.readOnly === true } });
    } else if (v.csi) {
      const ref = v.csi.nodePublishSecretRef?.name;
      const secret = ref !== undefined ? src.secrets.get(ref) : undefined;
      if (ref !== undefined && !secret) {
        throw new NotFoundError(`spec.volumes[${i}].csi.nodePublishSecretRef: secret "${ref}" not given (use --secret ${ref}=DIR|FILE)`);
      }
      out.push({ name: v.name, source: {
        kind: 'inline', driver: v.csi.driver, attributes: v.csi.volumeAttributes ?? {}, readOnly: v.csi.readOnly === true,
        fsType: v.csi.fsType ?? '', secrets: Object.fromEntries(secret ?? []),
      } });
    }
  }
  return out;
}

const PROPAGATION: Record<string, MountPropagation> = {
  None: 'PROPAGATION_PRIVATE', HostToContainer: 'PROPAGATION_HOST_TO_CONTAINER', Bidirectional: 'PROPAGATION_BIDIRECTIONAL',
};

export function mountsOf(c: ContainerSpec, volumes: PreparedVolumes, pod: Pod): Mount[] {
  return (c.volumeMounts ?? []).map((m, i) => {
    const host = volumes.get(m.name) ?? '';
    if (m.subPath && (isAbsolute(m.subPath) || normalize(m.subPath).split('/').includes('..'))) {
      throw new InvalidArgumentError(`container ${c.name} volumeMounts[${i}].subPath "${m.subPath}" must be relative and stay inside the volume`);
    }
    const spec = pod.spec.volumes?.find((v) => v.name === m.name);
    const readonly = m.readOnly === true || spec?.configMap !== undefined || spec?.secret !== undefined ||
      spec?.downwardAPI !== undefined || spec?.projected !== undefined ||
      spec?.csi?.readOnly === true || spec?.persistentVolumeClaim?.readOnly === true;
    // An image volume: the runtime mounts the image (read-only, noexec), at subPath inside it.
    if (spec?.image) {
      return { container_path: m.mountPath, image: { image: spec.image.reference }, image_sub_path: m.subPath ? normalize(m.subPath) : '', readonly: true };
    }
    return {
      container_path: m.mountPath,
      host_path: m.subPath ? join(host, normalize(m.subPath)) : host,
      readonly,
      propagation: PROPAGATION[m.mountPropagation ?? 'None'],
    };
  });
}

/**
 * mountsOf, with each subPath made and resolved safely inside its volume on the host
 * (src/run/subpath.ts): missing dirs are created, a way out of the volume through a symlink is
 * refused. For the containers of `keelson run`, just before each is created, so what an earlier
 * container left in a shared volume is what is checked.
 */
export async function mountsFor(c: ContainerSpec, volumes: PreparedVolumes, pod: Pod, volumeDir?: string): Promise<Mount[]> {
  const mounts = mountsOf(c, volumes, pod);
  for (const [i, m] of (c.volumeMounts ?? []).entries()) {
    const mount = mounts[i];
    const root = volumes.get(m.name);
    if (!m.subPath || !mount || !root) continue;
    // Pinned under the pod's volume dir, so the checked inode is what the runtime mounts.
    const pinAt = volumeDir === undefined ? undefined : join(subPathPinDir(volumeDir), `${c.name}-${i}`);
    mount.host_path = await resolveSubPath(root, m.subPath, `container ${c.name} volumeMounts[${i}].subPath "${m.subPath}" (volume ${m.name})`, pinAt);
  }
  return mounts;
}

/** Where a pod's subPath pins live (bind mounts of the checked paths). */
export function subPathPinDir(volumeDir: string): string {
  return join(volumeDir, '.subpaths');
}

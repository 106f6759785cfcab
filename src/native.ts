// The only door to the native addon (native/*.c): typed wrappers over the syscalls
// Node lacks. Everything above this module sees plain TypeScript types and
// NativeError, so it can be unit-tested against a fake of these functions.

import { closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Names of the MS_* constants the addon exports (values come from <sys/mount.h>). */
export type MsConstantName =
  | 'RDONLY' | 'NOSUID' | 'NODEV' | 'NOEXEC' | 'SYNCHRONOUS' | 'REMOUNT' | 'MANDLOCK'
  | 'DIRSYNC' | 'NOSYMFOLLOW' | 'NOATIME' | 'NODIRATIME' | 'BIND' | 'MOVE' | 'REC'
  | 'SILENT' | 'UNBINDABLE' | 'PRIVATE' | 'SLAVE' | 'SHARED' | 'RELATIME'
  | 'STRICTATIME' | 'LAZYTIME';

export type MountConstants = Readonly<Record<MsConstantName, number>>;

type MntConstantName = 'FORCE' | 'DETACH' | 'EXPIRE' | 'NOFOLLOW';

/**
 * mount(8)-style option names. The `r` forms add MS_REC: `rbind` binds a whole
 * tree, `rprivate` etc. change propagation of a whole tree.
 */
const MOUNT_FLAG_BITS = {
  bind: ['BIND'],
  rbind: ['BIND', 'REC'],
  rec: ['REC'],
  move: ['MOVE'],
  remount: ['REMOUNT'],
  ro: ['RDONLY'],
  nosuid: ['NOSUID'],
  nodev: ['NODEV'],
  noexec: ['NOEXEC'],
  nosymfollow: ['NOSYMFOLLOW'],
  sync: ['SYNCHRONOUS'],
  dirsync: ['DIRSYNC'],
  silent: ['SILENT'],
  relatime: ['RELATIME'],
  noatime: ['NOATIME'],
  strictatime: ['STRICTATIME'],
  nodiratime: ['NODIRATIME'],
  lazytime: ['LAZYTIME'],
  private: ['PRIVATE'],
  rprivate: ['PRIVATE', 'REC'],
  slave: ['SLAVE'],
  rslave: ['SLAVE', 'REC'],
  shared: ['SHARED'],
  rshared: ['SHARED', 'REC'],
  unbindable: ['UNBINDABLE'],
  runbindable: ['UNBINDABLE', 'REC'],
} as const satisfies Record<string, readonly MsConstantName[]>;

export type MountFlag = keyof typeof MOUNT_FLAG_BITS;

/** Flags that belong to one mount rather than to the call: all mountFilesystem takes. */
export type PerMountFlag = Extract<MountFlag,
  'ro' | 'nosuid' | 'nodev' | 'noexec' | 'nosymfollow' | 'relatime' | 'noatime' | 'strictatime' | 'nodiratime'>;

const PER_MOUNT_FLAGS: ReadonlySet<string> = new Set<PerMountFlag>([
  'ro', 'nosuid', 'nodev', 'noexec', 'nosymfollow', 'relatime', 'noatime', 'strictatime', 'nodiratime',
]);

/** One fsconfig parameter: [key, value], or [key, null] for a flag such as 'userxattr'. */
export type FsParam = readonly [key: string, value: string | null];

export const MOUNT_FLAGS: readonly MountFlag[] = Object.freeze(
  Object.keys(MOUNT_FLAG_BITS) as MountFlag[],
);

export type DeviceKind = 'char' | 'block' | 'fifo';
export type XattrMode = 'create' | 'replace';

/** Shape of the compiled addon; kept private so nothing else calls it untyped. */
interface Addon {
  readonly MS: MountConstants;
  readonly MNT: Readonly<Record<MntConstantName, number>>;
  mount(source: string | null, target: string, fstype: string | null, flags: number,
    data: string | null): Promise<void>;
  fsmount(target: string, fstype: string, params: readonly FsParam[], flags: number): Promise<void>;
  umount(target: string, flags: number): Promise<void>;
  mknod(path: string, kind: DeviceKind, mode: number, major: number, minor: number): void;
  lsetxattr(path: string, name: string, value: Buffer, mode: XattrMode | null): void;
  lgetxattr(path: string, name: string): Buffer | null;
  llistxattr(path: string): string[];
  pinNamespaces(net: string | null, ipc: string | null, uts: string | null,
    hostname: string | null): Promise<void>;
  unpinNamespace(path: string): Promise<void>;
  tryLockFile(path: string): number | null;
  connectSeqpacket(dir: string, name: string): number;
  shutdownWrite(fd: number): void;
  dialTcpInNetns(netns: string | null, port: number, timeoutMs: number): Promise<number>;
}

/**
 * A failed syscall: `code` is the errno name ('EPERM'), `errno` its positive value,
 * `detail` (fsconfig only) the kernel's explanation from the fs context's log,
 * e.g. "tmpfs: Bad value for 'size'", or else the parameter it refused.
 */
export class NativeError extends Error {
  override readonly name = 'NativeError';
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly path: string | undefined;
  readonly detail: string | undefined;

  constructor(fields: {
    message: string; code: string; errno: number; syscall: string;
    path?: string | undefined; detail?: string | undefined;
  }) {
    super(fields.message);
    this.code = fields.code;
    this.errno = fields.errno;
    this.syscall = fields.syscall;
    this.path = fields.path;
    this.detail = fields.detail;
  }
}

// The addon reports syscall failures as plain Errors carrying these fields;
// anything else (TypeError from argument checks) passes through unchanged.
function toNativeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const fields = err as Error & { code?: unknown; errno?: unknown; syscall?: unknown; path?: unknown; detail?: unknown };
  if (typeof fields.code !== 'string' || typeof fields.errno !== 'number' ||
    typeof fields.syscall !== 'string') {
    return err;
  }
  return new NativeError({
    message: err.message,
    code: fields.code,
    errno: fields.errno,
    syscall: fields.syscall,
    path: typeof fields.path === 'string' ? fields.path : undefined,
    detail: typeof fields.detail === 'string' ? fields.detail : undefined,
  });
}

function callSync<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toNativeError(err);
  }
}

// Awaiting here (rather than returning the addon's promise) makes the NativeError
// carry the caller's async stack instead of an empty one.
async function callAsync(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    throw toNativeError(err);
  }
}

let loaded: Addon | undefined;

// Loaded on first use so that importing this module (e.g. for its types, or in a
// unit test that never reaches a syscall) does not need the compiled addon.
function addon(): Addon {
  if (loaded) return loaded;
  const file = fileURLToPath(new URL('../native/build/Release/keelson_native.node', import.meta.url));
  try {
    loaded = createRequire(import.meta.url)(file) as Addon;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`cannot load the native addon ${file} (build it with "npm run build:native"): ${reason}`,
      { cause: err });
  }
  return loaded;
}

/** MS_* bits for mount(8)-style flag names; rejects names it does not know. */
export function composeMountFlags(flags: readonly MountFlag[], ms: MountConstants): number {
  let bits = 0;
  for (const flag of flags) {
    const names: readonly MsConstantName[] | undefined = Object.hasOwn(MOUNT_FLAG_BITS, flag)
      ? MOUNT_FLAG_BITS[flag]
      : undefined;
    if (!names) throw new TypeError(`unknown mount flag: ${String(flag)}`);
    for (const name of names) bits |= ms[name];
  }
  return bits >>> 0;
}

/**
 * mount(2), off the main thread. `source` and `fstype` may be null (remount,
 * propagation change). Unlike raw mount(2), a fresh bind honours per-mount flags
 * (ro, nosuid, nodev, noexec, atime: applied by mount_setattr, recursively for
 * rbind) and a new mount may carry a propagation flag (applied as a second call);
 * if that second step fails the new mount is detached again.
 * The kernel reads at most 4 KiB of `data` and silently drops the rest: for an
 * overlay with many layers use mountOverlay.
 */
export async function mount(source: string | null, target: string, fstype: string | null,
  flags: readonly MountFlag[] = [], data?: string): Promise<void> {
  const native = addon();
  const bits = composeMountFlags(flags, native.MS);
  await callAsync(() => native.mount(source, target, fstype, bits, data ?? null));
}

/**
 * Mounts a new filesystem through fsopen/fsconfig/fsmount/move_mount, off the
 * main thread. Each parameter is passed on its own (no 4 KiB limit, no escaping of
 * ',' in values), and a refusal carries the kernel's reason in NativeError.detail.
 */
export async function mountFilesystem(target: string, fstype: string, params: readonly FsParam[],
  flags: readonly PerMountFlag[] = []): Promise<void> {
  const native = addon();
  for (const flag of flags) {
    if (!PER_MOUNT_FLAGS.has(flag)) throw new TypeError(`mountFilesystem: not a per-mount flag: ${String(flag)}`);
  }
  const bits = composeMountFlags(flags, native.MS);
  await callAsync(() => native.fsmount(target, fstype, params, bits));
}

export interface OverlayLayers {
  /** Lower layers, top first (the order of overlay's lowerdir). */
  lower: readonly string[];
  /** upper and work go together; without them the overlay is read-only. */
  upper?: string;
  work?: string;
}

/**
 * An overlay at target. Layers are added one by one with "lowerdir+" (Linux 6.8+),
 * so the number of layers is not bounded by mount(2)'s 4 KiB option string and a
 * layer path may hold ':' or ','. `options` are extra overlay parameters, e.g.
 * [['index', 'off']] or [['volatile', null]].
 */
export async function mountOverlay(target: string, layers: OverlayLayers,
  opts: { flags?: readonly PerMountFlag[]; options?: readonly FsParam[] } = {}): Promise<void> {
  if (layers.lower.length === 0) throw new TypeError('mountOverlay: at least one lower layer is needed');
  if ((layers.upper === undefined) !== (layers.work === undefined)) {
    throw new TypeError('mountOverlay: upper and work go together');
  }
  const params: FsParam[] = [['source', 'overlay']];
  for (const dir of layers.lower) params.push(['lowerdir+', dir]);
  if (layers.upper !== undefined && layers.work !== undefined) {
    params.push(['upperdir', layers.upper], ['workdir', layers.work]);
  }
  params.push(...(opts.options ?? []));
  await mountFilesystem(target, 'overlay', params, opts.flags ?? []);
}

export interface UmountOptions {
  /** MNT_DETACH: lazy unmount, the mount disappears now and is freed when unused. */
  detach?: boolean;
  /** MNT_FORCE */
  force?: boolean;
  /** UMOUNT_NOFOLLOW: do not follow a symlink at target. */
  noFollow?: boolean;
}

/** umount2(2), off the main thread. */
export async function umount(target: string, opts: UmountOptions = {}): Promise<void> {
  const native = addon();
  let bits = 0;
  if (opts.detach) bits |= native.MNT.DETACH;
  if (opts.force) bits |= native.MNT.FORCE;
  if (opts.noFollow) bits |= native.MNT.NOFOLLOW;
  await callAsync(() => native.umount(target, bits));
}

/** mknod(2). `mode` holds permission bits only (the umask applies); the kind sets the type. */
export function mknod(path: string, kind: DeviceKind, mode: number, major = 0, minor = 0): void {
  callSync(() => addon().mknod(path, kind, mode, major, minor));
}

/** An overlayfs whiteout: a character device 0/0 with mode 0. */
export function makeWhiteout(path: string): void {
  mknod(path, 'char', 0, 0, 0);
}

/**
 * lsetxattr(2) (does not follow a symlink at path). A string value is stored as
 * UTF-8 without a trailing NUL. `mode` 'create' fails with EEXIST if the attribute
 * exists, 'replace' with ENODATA if it does not.
 */
export function lsetxattr(path: string, name: string, value: Buffer | string, mode?: XattrMode): void {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  callSync(() => addon().lsetxattr(path, name, bytes, mode ?? null));
}

/** lgetxattr(2); null when the file has no such attribute (ENODATA). */
export function lgetxattr(path: string, name: string): Buffer | null {
  return callSync(() => addon().lgetxattr(path, name));
}

/** llistxattr(2): the names of the attributes this process may see. */
export function llistxattr(path: string): string[] {
  return callSync(() => addon().llistxattr(path));
}

export interface NamespaceTargets {
  net?: string;
  ipc?: string;
  uts?: string;
}

/**
 * Creates new network, IPC and/or UTS namespaces (one for each target given) and
 * pins each by bind-mounting its nsfs file onto the target path, created as an
 * empty 0444 file if missing (an existing regular file is reused). The unshare
 * happens on a dedicated thread that exits afterwards, so no thread of this
 * process ever lives in the new namespaces. `hostname` is set in the new UTS
 * namespace. On failure nothing is left behind: mounts made are detached and
 * files created are removed.
 */
export async function pinNamespaces(targets: NamespaceTargets, opts: { hostname?: string } = {}): Promise<void> {
  if (targets.net === undefined && targets.ipc === undefined && targets.uts === undefined) {
    throw new TypeError('pinNamespaces: no namespace to pin');
  }
  if (opts.hostname !== undefined && targets.uts === undefined) {
    // Without a new UTS namespace, sethostname would rename the host.
    throw new TypeError('pinNamespaces: a hostname needs a uts target');
  }
  await callAsync(() => addon().pinNamespaces(targets.net ?? null, targets.ipc ?? null,
    targets.uts ?? null, opts.hostname ?? null));
}

/**
 * Releases a pinned namespace: detaches the mount(s) at path and removes the file.
 * Idempotent: a missing file or a file that is no longer a mount is fine.
 */
export async function unpinNamespace(path: string): Promise<void> {
  await callAsync(() => addon().unpinNamespace(path));
}

/** An exclusive flock held through an open fd; the kernel drops it if the process dies. */
export interface FileLock {
  readonly path: string;
  /** The locked file's descriptor (e.g. to write a pid into it); closed by release(). */
  readonly fd: number;
  readonly held: boolean;
  /** Closes the fd, which drops the lock. Idempotent. */
  release(): void;
}

class FlockedFile implements FileLock {
  #fd: number | null;

  constructor(readonly path: string, fd: number) {
    this.#fd = fd;
  }

  get fd(): number {
    if (this.#fd === null) throw new Error(`lock on ${this.path} was released`);
    return this.#fd;
  }

  get held(): boolean {
    return this.#fd !== null;
  }

  release(): void {
    if (this.#fd === null) return;
    const fd = this.#fd;
    this.#fd = null;
    closeSync(fd);
  }
}

/**
 * Opens (creating, mode 0600, close-on-exec) and takes a non-blocking exclusive
 * flock on path. Returns null when another open file (another process, or another
 * tryLockFile in this one) holds the lock.
 */
export function tryLockFile(path: string): FileLock | null {
  const fd = callSync(() => addon().tryLockFile(path));
  return fd === null ? null : new FlockedFile(path, fd);
}

/**
 * Connects a SOCK_SEQPACKET unix socket `<dir>/<name>` (conmon's attach socket), reached
 * through the directory's fd so long paths work. Returns a non-blocking, close-on-exec fd
 * that the caller owns and closes.
 */
export function connectSeqpacket(dir: string, name: string): number {
  return callSync(() => addon().connectSeqpacket(dir, name));
}

/** shutdown(fd, SHUT_WR): the peer reads end-of-file while this side still reads. */
export function shutdownWrite(fd: number): void {
  callSync(() => addon().shutdownWrite(fd));
}

/**
 * Connects a TCP socket to 127.0.0.1:port inside the network namespace pinned at `netns`
 * (null: this process's own network). The socket is created on a throwaway thread that
 * enters the namespace and exits afterwards, so no thread of this process stays there; the
 * connect gives up after timeoutMs (ETIMEDOUT). Resolves with a connected, non-blocking,
 * close-on-exec fd that the caller owns (e.g. `new net.Socket({ fd })`).
 */
export async function dialTcpInNetns(netns: string | null, port: number, timeoutMs: number): Promise<number> {
  try {
    return await addon().dialTcpInNetns(netns, port, timeoutMs);
  } catch (err) {
    throw toNativeError(err);
  }
}

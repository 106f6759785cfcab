// A containerd of the bench's own: Debian's /usr/bin/containerd with a config.toml (version 2)
// that keeps root, state, the sockets, the runc root, the opt dir, the CNI config and the
// registry hosts in one temp dir, the CRI plugin on, runc (io.containerd.runc.v2) as runtime,
// and a plain-HTTP registry on loopback. It never touches a system containerd: the only system
// path it shares is /run/containerd/s, where 1.6 shims put sockets named by a hash of the
// address, and /run/netns, where its CRI pins pod network namespaces.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectCri, type CriClient } from '../../src/client/cri.js';
import { unmountAllUnder } from '../../test/fixtures/sandbox.js';

export const CONTAINERD_BIN = '/usr/bin/containerd';
const RUNC_BIN = process.env.BENCH_RUNC ?? "/usr/sbin/runc";
const LOG_LIMIT = 256 * 1024;

export interface ContainerdOptions {
  /** `127.0.0.1:PORT` of the plain-HTTP registry fixture. */
  registryHost: string;
  /** The pod sandbox ("pause") image, already pushed to that registry. */
  sandboxImage: string;
  /** A CNI conflist, written as the only network config. */
  conflist: Record<string, unknown>;
}

export interface Containerd {
  base: string;
  socket: string;
  pid: number;
  client: CriClient;
  logs(): string;
  /** Removes every pod through CRI, stops containerd by pid, kills its leftover shims by pid, unmounts and deletes its dirs. */
  destroy(): Promise<void>;
}

function usesSystemd(): boolean {
  return existsSync('/run/systemd/system');
}

export function containerdConfig(base: string, opts: ContainerdOptions): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = "${base}/root"
state = "${base}/state"
disabled_plugins = []

[grpc]
  address = "${base}/containerd.sock"
[ttrpc]
  address = "${base}/containerd.sock.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "${base}/opt"

[${cri}]
  sandbox_image = "${opts.sandboxImage}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # Inside a container the bench may not lower oom_score_adj (the pause asks -998): cap it at ours.
  restrict_oom_score_adj = true
  [${cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.runc.options]
        BinaryName = "${RUNC_BIN}"
        Root = "${base}/runc"
        SystemdCgroup = ${usesSystemd()}
  [${cri}.cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${base}/cni"
    max_conf_num = 1
  [${cri}.registry]
    config_path = "${base}/certs.d"
`;
}

/** hosts.toml for the registry: plain HTTP on loopback. */
export function hostsToml(registryHost: string): string {
  return `server = "http://${registryHost}"\n\n[host."http://${registryHost}"]\n  capabilities = ["pull", "resolve"]\n`;
}

/** Processes whose command line names this containerd's socket: its shims, which re-parent to init. */
export async function shimPids(socket: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const args = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const argv = args.split('\0');
    if (argv.includes('-address') && argv[argv.indexOf('-address') + 1] === socket) pids.push(Number(entry));
  }
  return pids;
}

export async function startContainerd(opts: ContainerdOptions): Promise<Containerd> {
  const base = await mkdtemp(join(tmpdir(), 'bench-containerd-'));
  const socket = join(base, 'containerd.sock');
  const configPath = join(base, 'config.toml');
  await mkdir(join(base, 'cni'), { recursive: true });
  await mkdir(join(base, 'certs.d', opts.registryHost), { recursive: true });
  await writeFile(join(base, 'cni', '10-bench.conflist'), JSON.stringify(opts.conflist, null, 2));
  await writeFile(join(base, 'certs.d', opts.registryHost, 'hosts.toml'), hostsToml(opts.registryHost));
  await writeFile(configPath, containerdConfig(base, opts));

  const child: ChildProcess = spawn(CONTAINERD_BIN, ['--config', configPath, '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (d: Buffer): void => {
    log = (log + d.toString()).slice(-LOG_LIMIT);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const client = connectCri(socket);
  const pid = child.pid ?? -1;

  const destroy = async (): Promise<void> => {
    const netns: string[] = [];
    if (child.exitCode === null && child.signalCode === null) {
      const pods = await client.runtime.call('ListPodSandbox', {}, { timeoutMs: 10_000 }).catch(() => ({ items: [] }));
      for (const p of pods.items ?? []) {
        const id = p.id ?? '';
        const status = await client.runtime.call('PodSandboxStatus', { pod_sandbox_id: id, verbose: true }).catch(() => undefined);
        const path = networkNamespacePath(status?.info);
        if (path) netns.push(path);
        await client.runtime.call('StopPodSandbox', { pod_sandbox_id: id }).catch(() => undefined);
        await client.runtime.call('RemovePodSandbox', { pod_sandbox_id: id }).catch(() => undefined);
      }
    }
    client.close();
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => process.kill(pid, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    // Shims outlive containerd by design; these are ours by the socket path in their arguments.
    for (const shim of await shimPids(socket)) {
      try {
        process.kill(shim, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, 200));
    for (const path of netns) {
      if (!existsSync(path)) continue;
      unmountAllUnder(path);
      await rm(path, { force: true }).catch(() => undefined);
    }
    unmountAllUnder(base);
    await rm(base, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await destroy();
      throw new Error(`containerd exited (${child.exitCode ?? child.signalCode}) before serving CRI:\n${log}`);
    }
    if (existsSync(socket)) {
      const ok = await client.runtime.call('Status', {}, { timeoutMs: 2000 }).then((s) => s, () => undefined);
      const conditions = ok?.status?.conditions ?? [];
      if (conditions.length > 0 && conditions.every((c) => c.status)) break;
    }
    if (Date.now() > deadline) {
      await destroy();
      throw new Error(`containerd's CRI was not ready within 30s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { base, socket, pid, client, logs: () => log, destroy };
}

/** The pod's network namespace path from containerd's verbose PodSandboxStatus info. */
export function networkNamespacePath(info: Record<string, string> | null | undefined): string | undefined {
  const raw = info?.info;
  if (!raw) return undefined;
  try {
    const parsed = JSON.parse(raw) as { runtimeSpec?: { linux?: { namespaces?: Array<{ type?: string; path?: string }> } } };
    return parsed.runtimeSpec?.linux?.namespaces?.find((n) => n.type === 'network')?.path || undefined;
  } catch {
    return undefined;
  }
}

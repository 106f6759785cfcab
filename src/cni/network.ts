// The pod network through CNI: runs the chain of the network config in use for ADD (with
// prevResult chaining and runtimeConfig capabilities), CHECK, DEL (reverse order, from the
// cached attachment), STATUS and GC.
import { statfsSync, statSync } from 'node:fs';
import { FailedPreconditionError, messageOf } from '../errors.js';
import { AttachmentCache, type AttachmentKey, type CachedAttachment } from './cache.js';
import { CniPluginError } from './errors.js';
import { invokePlugin } from './invoke.js';
import { NetworkConfigLoader, type NetworkConfigFile, type PluginConfig } from './network-config.js';
import { findPlugin, requirePlugin } from './plugin-lookup.js';
import { parseCniResult, type CniResult } from './result.js';
import { atLeast } from './version.js';

export interface CniOptions {
  confDir: string;
  binDirs: readonly string[];
  cacheDir: string;
  timeoutMs: number;
}

/** runtimeConfig values, each passed only to plugins that declare the capability. */
export interface CniCapabilities {
  portMappings?: Array<{ hostPort: number; containerPort: number; protocol: string; hostIP?: string }>;
  dns?: { servers?: string[]; searches?: string[]; options?: string[] };
  ips?: string[];
  bandwidth?: { ingressRate?: number; ingressBurst?: number; egressRate?: number; egressBurst?: number };
}

export interface AttachRequest {
  containerId: string;
  netns: string;
  ifName?: string;
  args?: Array<[string, string]>;
  capabilities?: CniCapabilities;
}

export interface Attachment {
  network: string;
  ifName: string;
  result: CniResult;
}

export interface NetworkStatus {
  ready: boolean;
  message: string;
}

const DEFAULT_IFNAME = 'eth0';

export class CniNetwork {
  readonly loader: NetworkConfigLoader;
  readonly cache: AttachmentCache;
  /** VERSION answers per plugin binary, kept while the binary is unchanged. */
  readonly #versions = new Map<string, { key: string; versions: string[] }>();

  constructor(readonly opts: CniOptions) {
    this.loader = new NetworkConfigLoader(opts.confDir);
    this.cache = new AttachmentCache(opts.cacheDir);
  }

  /** The config in use, or FailedPrecondition listing why there is none. */
  async config(): Promise<NetworkConfigFile> {
    const found = await this.loader.load();
    if (!found.config) throw new FailedPreconditionError(`no usable CNI network config: ${found.problems.join('; ')}`);
    return found.config;
  }

  /**
   * ADD through the chain. The attachment is cached (without result) before the first plugin
   * runs. On failure it throws and leaves the cache entry, so the caller's DEL cleans up.
   */
  async add(req: AttachRequest): Promise<Attachment> {
    const config = await this.config();
    const ifName = req.ifName ?? DEFAULT_IFNAME;
    const paths = config.plugins.map((p) => requirePlugin(p.type, this.opts.binDirs));
    const runtimeConfig = { ...(req.capabilities ?? {}) } as Record<string, unknown>;
    const entry: CachedAttachment = {
      kind: 'keelson-cni-attachment-v1', network: config.name, containerId: req.containerId, ifName,
      netns: req.netns, config, args: req.args ?? [], runtimeConfig, result: null,
    };
    await this.cache.put(entry);
    let prev: CniResult | null = null;
    for (const [i, plugin] of config.plugins.entries()) {
      const out = await invokePlugin({
        pluginPath: paths[i] as string, command: 'ADD', config: pluginStdin(config, plugin, runtimeConfig, prev),
        binDirs: this.opts.binDirs, timeoutMs: this.opts.timeoutMs, containerId: req.containerId,
        netns: req.netns, ifName, args: entry.args,
      });
      try {
        prev = parseCniResult(out);
      } catch (err) {
        throw new CniPluginError({ plugin: plugin.type, command: 'ADD', cniMsg: messageOf(err) });
      }
      // Each plugin's result is kept as it comes, so that if a later plugin fails the DEL still
      // hands the earlier ones (firewall, ipMasq) the IPs they must clean up.
      if (i < config.plugins.length - 1) await this.cache.put({ ...entry, result: prev });
    }
    if (!prev) throw new CniPluginError({ plugin: config.name, command: 'ADD', cniMsg: 'the chain returned no result' });
    await this.cache.put({ ...entry, result: prev });
    return { network: config.name, ifName, result: prev };
  }

  /**
   * DEL through the chain in reverse, with the config and result cached at ADD. No cache entry
   * means no ADD ever ran (it is written first), so there is nothing to do. Every plugin is
   * called even if one fails; the cache entry goes only when all succeeded. A netns that is
   * gone is passed as '' (the spec allows it).
   */
  async del(key: { containerId: string; netns: string; ifName?: string }, network?: string): Promise<void> {
    const ifName = key.ifName ?? DEFAULT_IFNAME;
    let entry: CachedAttachment | null = null;
    if (network) entry = await this.cache.get({ network, containerId: key.containerId, ifName });
    if (!entry) entry = (await this.cache.list()).find((e) => e.containerId === key.containerId && e.ifName === ifName) ?? null;
    // The entry is written before the first plugin's ADD: without one, nothing was set up.
    if (!entry) return;
    const config = entry.config;
    const netns = isNamespaceFile(key.netns) ? key.netns : '';
    const errors: Error[] = [];
    for (const plugin of [...config.plugins].reverse()) {
      const path = findPlugin(plugin.type, this.opts.binDirs);
      if (!path) {
        errors.push(new Error(`CNI plugin "${plugin.type}" not found in ${this.opts.binDirs.join(', ')}`));
        continue;
      }
      const prev = atLeast(config.cniVersion, '0.4.0') ? entry.result : null;
      try {
        await invokePlugin({
          pluginPath: path, command: 'DEL', config: pluginStdin(config, plugin, entry.runtimeConfig, prev),
          binDirs: this.opts.binDirs, timeoutMs: this.opts.timeoutMs, containerId: key.containerId,
          netns, ifName, args: entry.args,
        });
      } catch (err) {
        errors.push(err instanceof Error ? err : new Error(String(err)));
      }
    }
    if (errors.length > 0) {
      const first = errors[0] as Error;
      if (errors.length === 1) throw first;
      throw new CniPluginError({ plugin: config.name, command: 'DEL', cniMsg: errors.map((e) => e.message).join('; ') });
    }
    await this.cache.remove({ network: config.name, containerId: key.containerId, ifName });
  }

  /** CHECK (0.4.0+) with the cached result; a no-op for older configs or disableCheck. */
  async check(key: AttachmentKey & { netns: string }): Promise<void> {
    const entry = await this.cache.get(key);
    if (!entry?.result) throw new FailedPreconditionError(`no cached CNI result for ${key.containerId} on ${key.network}`);
    const config = entry.config;
    if (!atLeast(config.cniVersion, '0.4.0') || config.disableCheck) return;
    for (const plugin of config.plugins) {
      await invokePlugin({
        pluginPath: requirePlugin(plugin.type, this.opts.binDirs), command: 'CHECK',
        config: pluginStdin(config, plugin, entry.runtimeConfig, entry.result), binDirs: this.opts.binDirs,
        timeoutMs: this.opts.timeoutMs, containerId: key.containerId, netns: key.netns, ifName: key.ifName, args: entry.args,
      });
    }
  }

  /** VERSION of one plugin: the spec versions it supports (remembered until the binary changes). */
  async pluginVersions(type: string): Promise<string[]> {
    const path = requirePlugin(type, this.opts.binDirs);
    const st = statSync(path);
    const key = `${st.ino}:${st.size}:${st.mtimeMs}`;
    const known = this.#versions.get(path);
    if (known && known.key === key) return known.versions;
    const out = await invokePlugin({
      pluginPath: path, command: 'VERSION', config: { cniVersion: '1.0.0' },
      binDirs: this.opts.binDirs, timeoutMs: this.opts.timeoutMs,
    });
    const list = (out as { supportedVersions?: unknown } | null)?.supportedVersions;
    const versions = Array.isArray(list) ? list.filter((v): v is string => typeof v === 'string') : [];
    this.#versions.set(path, { key, versions });
    return versions;
  }

  /**
   * Ready when a config is usable, every plugin of its chain is installed and speaks the
   * config's cniVersion (VERSION), and (for 1.1.0 configs) answers STATUS without error.
   */
  async status(): Promise<NetworkStatus> {
    const found = await this.loader.load();
    if (!found.config) return { ready: false, message: found.problems.join('; ') };
    const config = found.config;
    const missing = config.pluginTypes.filter((t) => !findPlugin(t, this.opts.binDirs));
    if (missing.length > 0) {
      return { ready: false, message: `${config.path}: CNI plugins not found in ${this.opts.binDirs.join(', ')}: ${missing.join(', ')}` };
    }
    for (const plugin of config.plugins) {
      try {
        const versions = await this.pluginVersions(plugin.type);
        if (!versions.includes(config.cniVersion)) {
          return { ready: false, message: `${config.path}: CNI plugin ${plugin.type} does not speak cniVersion ${config.cniVersion} (it speaks ${versions.join(', ')})` };
        }
        if (!atLeast(config.cniVersion, '1.1.0') || !versions.includes('1.1.0')) continue;
        await invokePlugin({
          pluginPath: requirePlugin(plugin.type, this.opts.binDirs), command: 'STATUS',
          config: pluginStdin(config, plugin, {}, null), binDirs: this.opts.binDirs, timeoutMs: this.opts.timeoutMs,
        });
      } catch (err) {
        return { ready: false, message: messageOf(err) };
      }
    }
    return { ready: true, message: '' };
  }

  /**
   * Garbage collection after a restart: cached attachments whose container is not in
   * `valid` get a DEL; then, for 1.1.0 configs, each plugin that speaks 1.1.0 gets GC with
   * the valid attachments. Returns the container ids released and the errors met.
   */
  async gc(valid: ReadonlySet<string>): Promise<{ released: string[]; errors: string[] }> {
    const released: string[] = [];
    const errors: string[] = [];
    for (const entry of await this.cache.list()) {
      if (valid.has(entry.containerId)) continue;
      try {
        await this.del({ containerId: entry.containerId, netns: entry.netns, ifName: entry.ifName }, entry.network);
        released.push(entry.containerId);
      } catch (err) {
        errors.push(messageOf(err));
      }
    }
    const found = await this.loader.load();
    const config = found.config;
    if (config && atLeast(config.cniVersion, '1.1.0') && !config.disableGC) {
      const attachments = [...valid].map((id) => ({ containerID: id, ifname: DEFAULT_IFNAME }));
      for (const plugin of config.plugins) {
        try {
          if (!(await this.pluginVersions(plugin.type)).includes('1.1.0')) continue;
          const stdin = { ...pluginStdin(config, plugin, {}, null), 'cni.dev/valid-attachments': attachments };
          await invokePlugin({
            pluginPath: requirePlugin(plugin.type, this.opts.binDirs), command: 'GC', config: stdin,
            binDirs: this.opts.binDirs, timeoutMs: this.opts.timeoutMs,
          });
        } catch (err) {
          errors.push(messageOf(err));
        }
      }
    }
    return { released, errors };
  }
}

/** What one plugin reads on stdin: its own object plus name, cniVersion, runtimeConfig, prevResult. */
export function pluginStdin(config: NetworkConfigFile, plugin: PluginConfig, runtime: Record<string, unknown>,
  prev: CniResult | null): Record<string, unknown> {
  const stdin: Record<string, unknown> = { ...plugin, cniVersion: config.cniVersion, name: config.name };
  const caps = plugin.capabilities;
  const runtimeConfig: Record<string, unknown> = {};
  if (caps && typeof caps === 'object') {
    for (const [cap, enabled] of Object.entries(caps as Record<string, unknown>)) {
      if (enabled === true && runtime[cap] !== undefined) runtimeConfig[cap] = runtime[cap];
    }
  }
  delete stdin.runtimeConfig;
  if (Object.keys(runtimeConfig).length > 0) stdin.runtimeConfig = runtimeConfig;
  if (prev) stdin.prevResult = prev;
  return stdin;
}

const NSFS_MAGIC = 0x6e736673;

/** True when path is a live namespace file (a pinned nsfs mount), not a leftover plain file. */
function isNamespaceFile(path: string): boolean {
  if (path === '') return false;
  try {
    return statfsSync(path).type === NSFS_MAGIC;
  } catch {
    return false;
  }
}

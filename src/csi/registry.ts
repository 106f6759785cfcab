// The CSI plugins keelson knows: declared in the config (optionally a binary keelson runs and
// restarts, src/csi/plugin-process.ts) or registered through a kubelet-style registration
// socket (src/csi/registration.ts). Each is probed (Identity, capabilities, NodeGetInfo) at
// start, after its process restarts, and again when a call to it fails for want of the plugin;
// unhealthy plugins are re-probed in the background.
import { join } from 'node:path';
import { FailedPreconditionError, KeelsonError, NotFoundError, messageOf } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CsiPluginSettings, CsiSettings } from '../config/schema.js';
import { CsiCallError, CsiClient } from './client.js';
import { PluginProcess } from './plugin-process.js';
import { RegistrationWatcher } from './registration.js';

export interface PluginInfo {
  /** What the plugin calls itself (GetPluginInfo). */
  reportedName: string;
  vendorVersion: string;
  pluginCapabilities: string[];
  controllerCapabilities: string[];
  nodeCapabilities: string[];
  nodeId: string;
}

/**
 * starting: not probed yet; healthy: the last probe passed and its process (if keelson runs
 * it) serves; unhealthy: the last probe failed; restarting: its process exited and waits out
 * the restart backoff, or is starting again; down: its process is not running and no restart
 * is due (stopped, or its first start failed and is retried).
 */
export type PluginState = 'starting' | 'healthy' | 'unhealthy' | 'restarting' | 'down';

export interface PluginView {
  name: string;
  endpoint: string;
  source: 'config' | 'registration';
  state: PluginState;
  /** state === 'healthy'. */
  healthy: boolean;
  lastError: string | null;
  probedAt: number | null;
  info: PluginInfo | null;
  process: { pid: number | null; running: boolean; restarts: number; nextRestartAt: number | null } | null;
}

const PROBE_TIMEOUT_MS = 10_000;
/** As the config schema allows for [csi.plugins] keys (CSI: at most 63 characters). */
const PLUGIN_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/;
const REPROBE_EVERY_MS = 10_000;
const AVAILABLE_POLL_MS = 250;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class CsiPlugin {
  readonly name: string;
  readonly endpoint: string;
  readonly source: 'config' | 'registration';
  readonly client: CsiClient;
  process: PluginProcess | null = null;
  info: PluginInfo | null = null;
  healthy = false;
  lastError: string | null = null;
  probedAt: number | null = null;
  /** Settles when the first start (binary) and probe are done; calls wait for it. */
  started: Promise<void> = Promise.resolve();
  /** The probe in flight, if any. */
  probing: Promise<void> | null = null;

  constructor(name: string, endpoint: string, source: 'config' | 'registration', client: CsiClient) {
    this.name = name;
    this.endpoint = endpoint;
    this.source = source;
    this.client = client;
  }

  hasNode(cap: string): boolean {
    return this.info?.nodeCapabilities.includes(cap) ?? false;
  }

  hasController(cap: string): boolean {
    return this.info?.controllerCapabilities.includes(cap) ?? false;
  }

  /** The node id the plugin gave (NodeGetInfo), for ControllerPublishVolume. */
  nodeId(): string {
    return this.info?.nodeId ?? '';
  }

  /** Health as the process and the last probe tell it: a dead process is never healthy. */
  state(): PluginState {
    const st = this.process?.status();
    if (st && !st.ready) {
      if (st.nextRestartAt !== null || st.restarts > 0) return 'restarting';
      return st.running ? 'starting' : this.lastError === 'starting' ? 'starting' : 'down';
    }
    if (this.healthy) return 'healthy';
    return this.probedAt === null ? 'starting' : 'unhealthy';
  }

  view(): PluginView {
    const st = this.process?.status();
    const state = this.state();
    return {
      name: this.name, endpoint: this.endpoint, source: this.source, state, healthy: state === 'healthy', lastError: this.lastError,
      probedAt: this.probedAt, info: this.info,
      process: st ? { pid: st.pid, running: st.running, restarts: st.restarts, nextRestartAt: st.nextRestartAt } : null,
    };
  }
}

export class PluginRegistry {
  readonly #plugins = new Map<string, CsiPlugin>();
  readonly #settings: CsiSettings;
  readonly #logDir: string;
  readonly #log: Logger;
  #watcher: RegistrationWatcher | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(opts: { settings: CsiSettings; state: string; log: Logger }) {
    this.#settings = opts.settings;
    this.#logDir = join(opts.state, 'csi', 'plugin-logs');
    this.#log = opts.log.child({ module: 'csi' });
  }

  /** Starts configured plugin binaries, probes every plugin, watches the registration dir. */
  /**
   * Starts configured plugin binaries and probes every plugin in the background (a slow or
   * broken plugin must not hold up the runtime's start; calls to it wait for its start), and
   * watches the registration dir.
   */
  async start(): Promise<void> {
    for (const [name, s] of Object.entries(this.#settings.plugins)) this.#addConfigured(name, s);
    if (this.#settings.registration_dir !== '') {
      this.#watcher = new RegistrationWatcher({
        dir: this.#settings.registration_dir,
        log: this.#log,
        onPlugin: async (p) => {
          // The name becomes a path component (staging dirs): the same rule as configured names.
          if (!PLUGIN_NAME.test(p.name)) throw new FailedPreconditionError(`plugin name "${p.name}" is not a valid CSI driver name`);
          const existing = this.#plugins.get(p.name);
          if (existing?.source === 'config') throw new FailedPreconditionError(`a plugin named ${p.name} is already configured`);
          existing?.client.close();
          const plugin = new CsiPlugin(p.name, p.endpoint, 'registration', this.#newClient(p.name, p.endpoint));
          this.#plugins.set(p.name, plugin);
          await this.probe(plugin);
          if (!plugin.healthy) throw new FailedPreconditionError(plugin.lastError ?? `plugin ${p.name} is not healthy`);
        },
        onPluginGone: (name) => {
          const plugin = this.#plugins.get(name);
          if (plugin?.source !== 'registration') return;
          plugin.client.close();
          this.#plugins.delete(name);
          this.#log.info({ plugin: name }, 'CSI plugin unregistered');
        },
      });
      const watcher = this.#watcher;
      void watcher.start().catch((err: unknown) => this.#log.error({ err: messageOf(err), dir: this.#settings.registration_dir }, 'cannot watch the CSI registration dir'));
    }
    this.#timer = setInterval(() => void this.#reprobeUnhealthy(), REPROBE_EVERY_MS);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#watcher?.stop();
    await Promise.all([...this.#plugins.values()].map(async (p) => {
      p.client.close();
      await p.process?.stop().catch((err: unknown) => this.#log.warn({ plugin: p.name, err: messageOf(err) }, 'stopping CSI plugin failed'));
    }));
  }

  list(): PluginView[] {
    return [...this.#plugins.values()].sort((a, b) => a.name.localeCompare(b.name)).map((p) => p.view());
  }

  /**
   * The plugin for a driver name, healthy: one that is not is probed once more first, and
   * refused with the reason when it still fails.
   */
  async get(name: string): Promise<CsiPlugin> {
    const plugin = this.#plugins.get(name);
    if (!plugin) {
      const known = [...this.#plugins.keys()];
      throw new NotFoundError(`no CSI plugin named "${name}" (known: ${known.length > 0 ? known.join(', ') : 'none'}); declare it under [csi.plugins] or register it in ${this.#settings.registration_dir || 'a registration dir'}`);
    }
    await plugin.started;
    const st = plugin.process?.status();
    if (st && !st.ready) {
      // Probing a process that is not there would only push the channel into reconnect backoff.
      throw new KeelsonError('Unavailable', `CSI plugin "${name}" is not running: ${plugin.lastError ?? 'not started'}`);
    }
    if (!plugin.healthy) await this.probe(plugin);
    if (!plugin.healthy) throw new KeelsonError('Unavailable', `CSI plugin "${name}" is not healthy: ${plugin.lastError ?? 'not probed yet'}`);
    return plugin;
  }

  /**
   * get(), waiting until `deadline` (epoch ms) while the plugin is unavailable (restarting,
   * starting, failing its probe), as kubelet keeps retrying a volume's setup. Other failures
   * (no such plugin) are thrown at once; the last Unavailable one once the deadline passed.
   */
  async available(name: string, deadline: number): Promise<CsiPlugin> {
    for (;;) {
      try {
        return await this.get(name);
      } catch (err) {
        if (!(err instanceof KeelsonError && err.kind === 'Unavailable') || this.#closed || Date.now() >= deadline) throw err;
      }
      await sleep(Math.max(0, Math.min(AVAILABLE_POLL_MS, deadline - Date.now())));
    }
  }

  /** To call when a plugin call failed: a plugin that went away is marked and re-probed. */
  noteFailure(plugin: CsiPlugin, err: unknown): void {
    if (err instanceof CsiCallError && err.retryable) {
      plugin.healthy = false;
      plugin.lastError = err.message;
      void this.probe(plugin);
    }
  }

  /** Asks the plugin who it is and what it can do; records health. */
  probe(plugin: CsiPlugin): Promise<void> {
    // Failures of several calls at once, a restart and the timer share one probe.
    plugin.probing ??= this.#probeOnce(plugin).finally(() => {
      plugin.probing = null;
    });
    return plugin.probing;
  }

  async #probeOnce(plugin: CsiPlugin): Promise<void> {
    const once = { timeoutMs: PROBE_TIMEOUT_MS, retries: 0 };
    try {
      const c = plugin.client;
      const about = await c.identity('GetPluginInfo', {}, once);
      const caps = await c.identity('GetPluginCapabilities', {}, once);
      const probe = await c.identity('Probe', {}, once);
      // An unset `ready` means ready (CSI spec).
      if (probe.ready && probe.ready.value === false) throw new FailedPreconditionError(`CSI plugin "${plugin.name}" answers Probe with ready=false`);
      const pluginCapabilities = (caps.capabilities ?? []).map((cap) => cap.service?.type ?? (cap.volume_expansion ? `VOLUME_EXPANSION_${cap.volume_expansion.type ?? ''}` : 'UNKNOWN'));
      const nodeCaps = await c.node('NodeGetCapabilities', {}, once);
      const nodeInfo = await c.node('NodeGetInfo', {}, once);
      const controllerCapabilities = pluginCapabilities.includes('CONTROLLER_SERVICE')
        ? ((await c.controller('ControllerGetCapabilities', {}, once)).capabilities ?? []).map((cap) => cap.rpc?.type ?? 'UNKNOWN')
        : [];
      plugin.info = {
        reportedName: about.name ?? '', vendorVersion: about.vendor_version ?? '', pluginCapabilities, controllerCapabilities,
        nodeCapabilities: (nodeCaps.capabilities ?? []).map((cap) => cap.rpc?.type ?? 'UNKNOWN'), nodeId: nodeInfo.node_id ?? '',
      };
      if (plugin.info.reportedName !== plugin.name) {
        this.#log.warn({ plugin: plugin.name, reported: plugin.info.reportedName }, 'CSI plugin reports another name than it is known by');
      }
      if (!plugin.healthy) this.#log.info({ plugin: plugin.name, info: plugin.info }, 'CSI plugin is healthy');
      plugin.healthy = true;
      plugin.lastError = null;
    } catch (err) {
      if (plugin.healthy || plugin.lastError !== messageOf(err)) this.#log.warn({ plugin: plugin.name, err: messageOf(err) }, 'CSI plugin probe failed');
      plugin.healthy = false;
      plugin.lastError = messageOf(err);
    } finally {
      plugin.probedAt = Date.now();
    }
  }

  #newClient(name: string, endpoint: string): CsiClient {
    return new CsiClient(name, endpoint, { timeoutMs: this.#settings.call_timeout_seconds * 1000, retries: this.#settings.call_retries });
  }

  #addConfigured(name: string, s: CsiPluginSettings): void {
    const plugin = new CsiPlugin(name, s.endpoint, 'config', this.#newClient(name, s.endpoint));
    this.#plugins.set(name, plugin);
    plugin.lastError = 'starting';
    plugin.started = this.#bringUp(plugin, s).catch((err: unknown) => {
      plugin.lastError = messageOf(err); // e.g. an endpoint too long for a unix socket
      this.#log.error({ plugin: name, err: messageOf(err) }, 'CSI plugin cannot be started');
    });
  }

  /** Starts the plugin's binary, if it has one, then probes it. */
  async #bringUp(plugin: CsiPlugin, s: CsiPluginSettings): Promise<void> {
    const name = plugin.name;
    if (s.binary) {
      plugin.process = new PluginProcess({
        name, binary: s.binary, args: s.args ?? [], endpoint: s.endpoint, env: s.env,
        logFile: join(this.#logDir, `${name}.log`), log: this.#log,
        backoff: { initialMs: this.#settings.restart_backoff_ms, maxMs: 30_000, resetAfterMs: 60_000 },
        onExit: (exit, restartAt) => {
          // Dead is not healthy, whatever the last probe said; calls wait for the restart.
          plugin.healthy = false;
          const how = exit.signal !== null ? `killed by signal ${exit.signal}` : `exit code ${exit.code}`;
          plugin.lastError = `plugin process exited (${how}); restarting${restartAt !== null ? ` in ${Math.max(0, restartAt - Date.now())} ms` : ''}`;
        },
        onRestart: (attempt) => {
          plugin.healthy = false;
          plugin.lastError = `restarting (restart ${attempt})`;
        },
        onReady: () => {
          // A new process on the socket: new channels (the old ones may be in reconnect backoff
          // from calls made while it was down), then the probe.
          plugin.client.reset();
          // A probe still in flight used the old channel: probe again after it.
          if (plugin.process?.status().restarts) void (plugin.probing ?? Promise.resolve()).then(() => this.probe(plugin));
        },
      });
      if (!(await this.#startProcess(plugin, this.#settings.restart_backoff_ms))) return;
    }
    await this.probe(plugin);
  }

  /**
   * Starts a plugin binary; one that cannot start leaves keelson running (its volumes fail
   * with the reason) and is tried again with a doubling delay until it starts.
   */
  async #startProcess(plugin: CsiPlugin, delayMs: number): Promise<boolean> {
    try {
      await plugin.process?.start();
      return true;
    } catch (err) {
      plugin.lastError = messageOf(err);
      this.#log.error({ plugin: plugin.name, err: messageOf(err), retryInMs: delayMs }, 'CSI plugin did not start');
      const timer = setTimeout(() => {
        if (this.#closed) return;
        void this.#startProcess(plugin, Math.min(delayMs * 2, 30_000)).then((started) => (started ? this.probe(plugin) : undefined));
      }, delayMs);
      timer.unref();
      return false;
    }
  }

  async #reprobeUnhealthy(): Promise<void> {
    for (const p of this.#plugins.values()) {
      if (this.#closed) return;
      if (!p.healthy && (!p.process || p.process.status().running)) await this.probe(p);
    }
  }
}

// kubelet-style plugin discovery: every plugin (through its node-driver-registrar) puts a unix
// socket in the registration dir serving pluginregistration.Registration. We ask each new socket
// GetInfo, hand accepted CSI plugins to onPlugin, and tell the plugin the outcome with
// NotifyRegistrationStatus. fs.watch drives rescans; a periodic rescan covers events it misses.
import { watch, type FSWatcher } from 'node:fs';
import { lstat, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../logger.js';
import { KeelsonError, messageOf } from '../errors.js';
import { registrationService, type PluginInfo, type RegistrationStatus } from './registration-proto.js';

export interface DiscoveredPlugin {
  name: string;
  /** The plugin's CSI socket path, as the registrar reported it. */
  endpoint: string;
  versions: string[];
  registrationSocket: string;
}

export interface RegistrationWatcherOptions {
  dir: string;
  log: Logger;
  onPlugin(info: DiscoveredPlugin): Promise<void> | void;
  onPluginGone(name: string): void;
  /** Safety-net rescan period; fs.watch can miss events. */
  rescanIntervalMs?: number;
  /** Deadline for each call to a registration socket. */
  callTimeoutMs?: number;
}

const DEBOUNCE_MS = 100;

/** What we know about one socket file, keyed by its path; ino tells a re-created socket apart. */
interface SocketState {
  ino: number;
  /** Set once onPlugin accepted it; only these get onPluginGone. */
  registeredName?: string;
}

export class RegistrationWatcher {
  private readonly opts: RegistrationWatcherOptions;
  private readonly sockets = new Map<string, SocketState>();
  private readonly clients = new Set<grpc.Client>();
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private interval: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private rescanAgain = false;
  private stopped = false;

  constructor(opts: RegistrationWatcherOptions) {
    this.opts = opts;
  }

  async start(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true, mode: 0o750 });
    this.watcher = watch(this.opts.dir, () => this.scheduleRescan());
    this.watcher.on('error', (err) => this.opts.log.warn({ err, dir: this.opts.dir }, 'watching the plugin registration dir failed; relying on periodic rescans'));
    this.interval = setInterval(() => this.scheduleRescan(), this.opts.rescanIntervalMs ?? 10_000);
    await this.rescan();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    clearTimeout(this.debounce);
    clearInterval(this.interval);
    for (const c of this.clients) c.close();
    this.clients.clear();
    await this.scanning;
  }

  private scheduleRescan(): void {
    if (this.stopped) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.rescan(), DEBOUNCE_MS);
  }

  /** One scan at a time; a request during a scan runs once more after it. */
  rescan(): Promise<void> {
    if (this.scanning) {
      this.rescanAgain = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      do {
        this.rescanAgain = false;
        await this.scanOnce().catch((err: unknown) => this.opts.log.warn({ err, dir: this.opts.dir }, 'scanning the plugin registration dir failed'));
      } while (this.rescanAgain && !this.stopped);
    })().finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    const present = new Map<string, number>();
    for (const name of await readdir(this.opts.dir)) {
      if (!name.endsWith('.sock')) continue;
      const path = join(this.opts.dir, name);
      const st = await lstat(path).catch(() => undefined);
      if (st?.isSocket()) present.set(path, st.ino);
    }
    for (const [path, state] of this.sockets) {
      if (present.get(path) !== state.ino) this.forget(path, state);
    }
    // Sockets that did not answer are not in the map, so each gets one attempt per scan. Refused
    // ones stay in it: they are asked again only when their socket is re-created (new inode).
    const fresh = [...present].filter(([path]) => !this.sockets.has(path));
    await Promise.all(fresh.map(([path, ino]) => this.register(path, ino)));
  }

  private forget(path: string, state: SocketState): void {
    this.sockets.delete(path);
    if (state.registeredName === undefined) return;
    this.opts.log.info({ plugin: state.registeredName, socket: path }, 'plugin registration socket is gone');
    this.opts.onPluginGone(state.registeredName);
  }

  private async register(path: string, ino: number): Promise<void> {
    const Registration = registrationService();
    const client = new Registration(`unix:${path}`, grpc.credentials.createInsecure());
    this.clients.add(client);
    try {
      let info: PluginInfo;
      try {
        info = await this.call<PluginInfo>(client, 'GetInfo', {});
      } catch (err) {
        this.opts.log.warn({ err: messageOf(err), socket: path }, 'plugin registration socket does not answer GetInfo; retrying on the next rescan');
        return;
      }
      if (this.stopped) return;
      const state: SocketState = { ino };
      this.sockets.set(path, state);
      const refusal = this.refusal(info);
      if (refusal) {
        this.opts.log.warn({ socket: path, plugin: info.name, type: info.type, versions: info.supported_versions }, refusal);
        await this.notify(client, path, { plugin_registered: false, error: refusal });
        return;
      }
      const plugin: DiscoveredPlugin = { name: info.name, endpoint: info.endpoint, versions: info.supported_versions, registrationSocket: path };
      try {
        await this.opts.onPlugin(plugin);
      } catch (err) {
        const error = `registering CSI plugin ${info.name} failed: ${messageOf(err)}`;
        this.opts.log.warn({ socket: path, plugin: info.name, err: messageOf(err) }, error);
        await this.notify(client, path, { plugin_registered: false, error });
        return;
      }
      state.registeredName = info.name;
      this.opts.log.info({ plugin: info.name, endpoint: info.endpoint, socket: path }, 'CSI plugin registered');
      await this.notify(client, path, { plugin_registered: true, error: '' });
    } finally {
      this.clients.delete(client);
      client.close();
    }
  }

  /** Why this plugin is not accepted, or undefined when it is. */
  private refusal(info: PluginInfo): string | undefined {
    if (info.type !== 'CSIPlugin') return `plugin ${info.name} has type ${JSON.stringify(info.type)}; only CSIPlugin is supported`;
    if (!info.name) return 'plugin reported no name';
    if (!info.endpoint) return `CSI plugin ${info.name} reported no endpoint`;
    if (!info.supported_versions.some((v) => /^v?1(\.|$)/.test(v))) {
      return `CSI plugin ${info.name} supports versions [${info.supported_versions.join(', ')}], none of them 1.x`;
    }
    return undefined;
  }

  private async notify(client: grpc.Client, path: string, status: RegistrationStatus): Promise<void> {
    try {
      await this.call<object>(client, 'NotifyRegistrationStatus', status);
    } catch (err) {
      this.opts.log.warn({ err: messageOf(err), socket: path }, 'NotifyRegistrationStatus failed');
    }
  }

  private call<T>(client: grpc.Client, method: 'GetInfo' | 'NotifyRegistrationStatus', request: object): Promise<T> {
    const deadline = Date.now() + (this.opts.callTimeoutMs ?? 5_000);
    const path = `/pluginregistration.Registration/${method}`;
    const def = registrationService().service[method];
    if (!def) throw new KeelsonError('Internal', `the Registration descriptor has no method ${method}`);
    return new Promise<T>((resolve, reject) => {
      client.makeUnaryRequest(path, def.requestSerialize, def.responseDeserialize, request, { deadline }, (err: grpc.ServiceError | null, res?: unknown) => {
        if (err) reject(err);
        else resolve(res as T);
      });
    });
  }
}

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf } from '../errors.js';
import { isSupportedCniVersion, SUPPORTED_CNI_VERSIONS } from './version.js';

/** CNI network config files are bounded: anything bigger is not a config. */
const MAX_CONFIG_BYTES = 1 << 20;
const CONFIG_EXTENSIONS = ['.conflist', '.conf', '.json'];
/** Network names end up in file names and iptables comments (spec: [a-zA-Z0-9_.\-]). */
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

/** One plugin's config object from the list, as written (type, capabilities, ipam, ...). */
export type PluginConfig = Record<string, unknown> & { type: string };

export interface NetworkConfigFile {
  path: string;
  name: string;
  cniVersion: string;
  /** Plugin types in chain order. */
  pluginTypes: string[];
  /** The plugin objects in chain order. */
  plugins: PluginConfig[];
  /** The conflist's disableCheck / disableGC flags. */
  disableCheck: boolean;
  disableGC: boolean;
}

export interface NetworkConfigSearch {
  config: NetworkConfigFile | null;
  /** Why files were skipped, or why none was found. */
  problems: string[];
}

/**
 * Finds the network config in use: the first valid file in lexical order, as kubelet's
 * dockershim and containerd pick it. Invalid files are skipped with a reason.
 */
export async function findNetworkConfig(confDir: string): Promise<NetworkConfigSearch> {
  let names: string[];
  try {
    names = await readdir(confDir);
  } catch (err) {
    return { config: null, problems: [`cannot read CNI config dir ${confDir}: ${messageOf(err)}`] };
  }
  const problems: string[] = [];
  for (const name of configFileNames(names)) {
    const path = join(confDir, name);
    try {
      const info = await stat(path);
      if (!info.isFile()) continue;
      if (info.size > MAX_CONFIG_BYTES) throw new Error(`larger than ${MAX_CONFIG_BYTES} bytes`);
      return { config: parseNetworkConfig(path, await readFile(path, 'utf8')), problems };
    } catch (err) {
      problems.push(`${path}: ${messageOf(err)}`);
    }
  }
  if (problems.length === 0) problems.push(`no network config found in ${confDir}`);
  return { config: null, problems };
}

function configFileNames(names: string[]): string[] {
  return names.filter((n) => CONFIG_EXTENSIONS.some((e) => n.endsWith(e))).sort();
}

/**
 * Accepts a .conflist, or a single-plugin .conf which CNI treats as a list of one (its
 * name and cniVersion move to the list).
 */
export function parseNetworkConfig(path: string, text: string): NetworkConfigFile {
  const doc: unknown = JSON.parse(text);
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not a JSON object');
  const obj = doc as Record<string, unknown>;
  if (typeof obj.name !== 'string' || obj.name === '') throw new Error('missing "name"');
  if (!NETWORK_NAME.test(obj.name)) throw new Error(`"name" ${JSON.stringify(obj.name)} has characters CNI does not allow`);
  if (typeof obj.cniVersion !== 'string') throw new Error('missing "cniVersion"');
  if (!isSupportedCniVersion(obj.cniVersion)) {
    throw new Error(`cniVersion ${JSON.stringify(obj.cniVersion)} is not supported (supported: ${SUPPORTED_CNI_VERSIONS.join(', ')})`);
  }
  const isList = path.endsWith('.conflist') || Array.isArray(obj.plugins);
  let plugins: unknown;
  if (isList) {
    plugins = obj.plugins;
  } else {
    const { name: _n, cniVersion: _v, ...plugin } = obj;
    plugins = [plugin];
  }
  if (!Array.isArray(plugins) || plugins.length === 0) throw new Error('"plugins" must be a non-empty list');
  const checked = plugins.map((p: unknown, i): PluginConfig => {
    if (p === null || typeof p !== 'object' || Array.isArray(p)) throw new Error(`plugins[${i}] is not an object`);
    const type = (p as Record<string, unknown>).type;
    if (typeof type !== 'string' || type === '') throw new Error(`plugins[${i}] has no "type"`);
    // A type names a file in a bin dir: no path separators.
    if (type.includes('/') || type === '.' || type === '..') throw new Error(`plugins[${i}] "type" ${JSON.stringify(type)} is not a plugin name`);
    return p as PluginConfig;
  });
  return {
    path,
    name: obj.name,
    cniVersion: obj.cniVersion,
    pluginTypes: checked.map((p) => p.type),
    plugins: checked,
    disableCheck: obj.disableCheck === true,
    disableGC: obj.disableGC === true,
  };
}

/**
 * The conf dir, re-read only when it changed: a listing and a stat per candidate file are
 * compared with the last read, so a config dropped in (or edited) is seen on the next call.
 */
export class NetworkConfigLoader {
  #key = '';
  #last: NetworkConfigSearch | null = null;

  constructor(readonly confDir: string) {}

  async load(): Promise<NetworkConfigSearch> {
    const key = await this.#fingerprint();
    if (this.#last && key === this.#key) return this.#last;
    const found = await findNetworkConfig(this.confDir);
    this.#key = key;
    this.#last = found;
    return found;
  }

  async #fingerprint(): Promise<string> {
    let names: string[];
    try {
      names = configFileNames(await readdir(this.confDir));
    } catch (err) {
      return `error:${messageOf(err)}`;
    }
    const parts = await Promise.all(names.map(async (n) => {
      try {
        const s = await stat(join(this.confDir, n));
        return `${n}:${s.size}:${s.mtimeMs}:${s.ino}`;
      } catch {
        return `${n}:gone`;
      }
    }));
    return parts.join('|');
  }
}

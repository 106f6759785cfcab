import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf } from '../errors.js';

/** CNI network config files are bounded: anything bigger is not a config. */
const MAX_CONFIG_BYTES = 1 << 20;
const CONFIG_EXTENSIONS = ['.conflist', '.conf', '.json'];

export interface NetworkConfigFile {
  path: string;
  name: string;
  cniVersion: string;
  /** Plugin types in chain order. */
  pluginTypes: string[];
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
  for (const name of names.filter((n) => CONFIG_EXTENSIONS.some((e) => n.endsWith(e))).sort()) {
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

/** Accepts a .conflist, or a single-plugin .conf which CNI treats as a list of one. */
export function parseNetworkConfig(path: string, text: string): NetworkConfigFile {
  const doc: unknown = JSON.parse(text);
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not a JSON object');
  const obj = doc as Record<string, unknown>;
  if (typeof obj.name !== 'string' || obj.name === '') throw new Error('missing "name"');
  if (typeof obj.cniVersion !== 'string') throw new Error('missing "cniVersion"');
  const plugins = path.endsWith('.conflist') || Array.isArray(obj.plugins) ? obj.plugins : [obj];
  if (!Array.isArray(plugins) || plugins.length === 0) throw new Error('"plugins" must be a non-empty list');
  const pluginTypes = plugins.map((p, i) => {
    const type = (p as Record<string, unknown> | null)?.type;
    if (typeof type !== 'string' || type === '') throw new Error(`plugins[${i}] has no "type"`);
    return type;
  });
  return { path, name: obj.name, cniVersion: obj.cniVersion, pluginTypes };
}

// The on-disk record of each attachment (network, container, interface): the config the ADD
// used and, once it returned, its result. Written before the ADD so that a DEL after a crash
// or a restart uses the same config and prevResult, which is how IPs are not leaked.
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NetworkConfigFile } from './network-config.js';
import type { CniResult } from './result.js';

const MAX_CACHE_BYTES = 4 << 20;

export interface AttachmentKey {
  network: string;
  containerId: string;
  ifName: string;
}

export interface CachedAttachment extends AttachmentKey {
  kind: 'keelson-cni-attachment-v1';
  netns: string;
  config: NetworkConfigFile;
  args: Array<[string, string]>;
  runtimeConfig: Record<string, unknown>;
  /** null until the ADD returned. */
  result: CniResult | null;
}

export class AttachmentCache {
  constructor(readonly dir: string) {}

  #path(key: AttachmentKey): string {
    return join(this.dir, `${key.network}-${key.containerId}-${key.ifName}.json`);
  }

  async put(entry: CachedAttachment): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = this.#path(entry);
    const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    await writeFile(tmp, JSON.stringify(entry), { mode: 0o600 });
    await rename(tmp, path);
  }

  async get(key: AttachmentKey): Promise<CachedAttachment | null> {
    return this.#read(this.#path(key));
  }

  async #read(path: string): Promise<CachedAttachment | null> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return null;
    }
    if (text.length > MAX_CACHE_BYTES) return null;
    try {
      const doc = JSON.parse(text) as CachedAttachment;
      return doc.kind === 'keelson-cni-attachment-v1' ? doc : null;
    } catch {
      return null;
    }
  }

  async remove(key: AttachmentKey): Promise<void> {
    await rm(this.#path(key), { force: true });
  }

  /** Every cached attachment (for GC after a restart). */
  async list(): Promise<CachedAttachment[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const out: CachedAttachment[] = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const entry = await this.#read(join(this.dir, name));
      if (entry) out.push(entry);
    }
    return out;
  }
}

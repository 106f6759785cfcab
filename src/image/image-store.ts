// Image metadata in SQLite: name -> image id (the config digest), each image's layers
// (chain ids) and blobs, the snapshots on disk, and container leases on layers.
import { migrate, type Db } from '../store/database.js';
import type { ImageConfig } from './manifest.js';

const MIGRATION = {
  module: 'images',
  steps: [
    `CREATE TABLE images (
       id TEXT PRIMARY KEY,
       manifest_digest TEXT NOT NULL,
       config TEXT NOT NULL,
       chain_ids TEXT NOT NULL,
       blobs TEXT NOT NULL,
       size INTEGER NOT NULL,
       created_at INTEGER NOT NULL
     );
     CREATE TABLE image_names (
       name TEXT PRIMARY KEY,
       image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
     );
     CREATE INDEX image_names_by_image ON image_names(image_id);
     CREATE TABLE snapshots (
       chain_id TEXT PRIMARY KEY,
       diff_id TEXT NOT NULL,
       parent TEXT,
       bytes INTEGER NOT NULL,
       inodes INTEGER NOT NULL,
       created_at INTEGER NOT NULL
     );
     -- Not a foreign key on purpose: an image may be removed while a container uses its layers.
     CREATE TABLE image_leases (
       container_id TEXT PRIMARY KEY,
       image_id TEXT NOT NULL,
       chain_ids TEXT NOT NULL
     );`,
  ],
};

export interface ImageRecord {
  /** `sha256:<config digest>`. */
  id: string;
  repoTags: string[];
  repoDigests: string[];
  /** Bytes of the blobs the image is made of (compressed layers + config). */
  size: number;
  manifestDigest: string;
  /** The parsed OCI image config. */
  config: ImageConfig;
  /** Layer chain ids, bottom layer first. */
  chainIds: string[];
  /** Every blob this image keeps in the content store. */
  blobs: string[];
}

export interface NewImage {
  id: string;
  manifestDigest: string;
  config: ImageConfig;
  chainIds: string[];
  blobs: string[];
  size: number;
  names: string[];
}

export interface SnapshotRecord {
  chainId: string;
  diffId: string;
  parent: string | null;
  bytes: number;
  inodes: number;
  /** ms since the epoch; set by the store. */
  createdAt?: number;
}

interface ImageRow {
  id: string;
  manifest_digest: string;
  config: string;
  chain_ids: string;
  blobs: string;
  size: number;
}

export class ImageStore {
  constructor(readonly db: Db) {
    migrate(db, MIGRATION);
  }

  #record(row: ImageRow): ImageRecord {
    const names = (this.db.prepare('SELECT name FROM image_names WHERE image_id = ? ORDER BY name').all(row.id) as Array<{ name: string }>).map((r) => r.name);
    return {
      id: row.id,
      manifestDigest: row.manifest_digest,
      config: JSON.parse(row.config) as ImageConfig,
      chainIds: JSON.parse(row.chain_ids) as string[],
      blobs: JSON.parse(row.blobs) as string[],
      size: row.size,
      repoTags: names.filter((n) => !n.includes('@')),
      repoDigests: names.filter((n) => n.includes('@')),
    };
  }

  get(id: string): ImageRecord | null {
    const row = this.db.prepare('SELECT * FROM images WHERE id = ?').get(id) as ImageRow | undefined;
    return row ? this.#record(row) : null;
  }

  byName(name: string): ImageRecord | null {
    const row = this.db.prepare('SELECT i.* FROM images i JOIN image_names n ON n.image_id = i.id WHERE n.name = ?').get(name) as ImageRow | undefined;
    return row ? this.#record(row) : null;
  }

  /** Ids starting with a hex prefix (after `sha256:`). */
  idsWithPrefix(hexPrefix: string): string[] {
    return (this.db.prepare("SELECT id FROM images WHERE substr(id, 8, ?) = ?").all(hexPrefix.length, hexPrefix) as Array<{ id: string }>).map((r) => r.id);
  }

  list(): ImageRecord[] {
    return (this.db.prepare('SELECT * FROM images ORDER BY created_at, id').all() as ImageRow[]).map((r) => this.#record(r));
  }

  /** Records an image and points its names at it (taking names away from other images), in one transaction. */
  put(image: NewImage): void {
    this.db.transaction(() => {
      this.db.prepare(
        `INSERT INTO images (id, manifest_digest, config, chain_ids, blobs, size, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET manifest_digest = excluded.manifest_digest, blobs = excluded.blobs, size = excluded.size`,
      ).run(image.id, image.manifestDigest, JSON.stringify(image.config), JSON.stringify(image.chainIds), JSON.stringify(image.blobs), image.size, Date.now());
      const setName = this.db.prepare('INSERT INTO image_names (name, image_id) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id');
      for (const name of image.names) setName.run(name, image.id);
    })();
  }

  /** Takes names away from an image (in one transaction); the image record stays. */
  deleteNames(names: readonly string[]): void {
    this.db.transaction(() => {
      const drop = this.db.prepare('DELETE FROM image_names WHERE name = ?');
      for (const name of names) drop.run(name);
    })();
  }

  /** Removes an image and its names. */
  delete(id: string): void {
    this.db.prepare('DELETE FROM images WHERE id = ?').run(id);
  }

  getSnapshot(chainId: string): SnapshotRecord | null {
    const row = this.db.prepare('SELECT chain_id, diff_id, parent, bytes, inodes FROM snapshots WHERE chain_id = ?').get(chainId) as
      | { chain_id: string; diff_id: string; parent: string | null; bytes: number; inodes: number } | undefined;
    return row ? { chainId: row.chain_id, diffId: row.diff_id, parent: row.parent, bytes: row.bytes, inodes: row.inodes } : null;
  }

  putSnapshot(s: SnapshotRecord): void {
    this.db.prepare('INSERT OR REPLACE INTO snapshots (chain_id, diff_id, parent, bytes, inodes, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(s.chainId, s.diffId, s.parent, s.bytes, s.inodes, Date.now());
  }

  deleteSnapshot(chainId: string): void {
    this.db.prepare('DELETE FROM snapshots WHERE chain_id = ?').run(chainId);
  }

  snapshots(): SnapshotRecord[] {
    return (this.db.prepare('SELECT chain_id, diff_id, parent, bytes, inodes, created_at FROM snapshots').all() as Array<{ chain_id: string; diff_id: string; parent: string | null; bytes: number; inodes: number; created_at: number }>)
      .map((r) => ({ chainId: r.chain_id, diffId: r.diff_id, parent: r.parent, bytes: r.bytes, inodes: r.inodes, createdAt: r.created_at }));
  }

  putLease(containerId: string, imageId: string, chainIds: string[]): void {
    this.db.prepare('INSERT OR REPLACE INTO image_leases (container_id, image_id, chain_ids) VALUES (?, ?, ?)').run(containerId, imageId, JSON.stringify(chainIds));
  }

  /** The container's lease and those of its image volumes (`<id>#iv<n>`). */
  deleteLease(containerId: string): void {
    this.db.prepare("DELETE FROM image_leases WHERE container_id = ? OR container_id LIKE ? || '#iv%'").run(containerId, containerId);
  }

  leases(): Array<{ containerId: string; imageId: string; chainIds: string[] }> {
    return (this.db.prepare('SELECT container_id, image_id, chain_ids FROM image_leases').all() as Array<{ container_id: string; image_id: string; chain_ids: string }>)
      .map((r) => ({ containerId: r.container_id, imageId: r.image_id, chainIds: JSON.parse(r.chain_ids) as string[] }));
  }

  /** Chain ids some image or lease still needs. */
  referencedChainIds(): Set<string> {
    const used = new Set<string>();
    for (const row of this.db.prepare('SELECT chain_ids FROM images UNION ALL SELECT chain_ids FROM image_leases').all() as Array<{ chain_ids: string }>) {
      for (const id of JSON.parse(row.chain_ids) as string[]) used.add(id);
    }
    return used;
  }

  /** Blobs some image still needs. */
  referencedBlobs(): Set<string> {
    const used = new Set<string>();
    for (const row of this.db.prepare('SELECT blobs FROM images').all() as Array<{ blobs: string }>) {
      for (const d of JSON.parse(row.blobs) as string[]) used.add(d);
    }
    return used;
  }
}

// What keelson remembers of CSI volumes in SQLite (module 'csi'): named volumes, the volumes
// staged on this node, and each pod's published volumes. A row is written before the plugin
// call it stands for (state 'staging'/'publishing', 'unstaging'/'unpublishing'), so a daemon
// that dies in the middle finds the half-done step at start and finishes or undoes it.
import { migrate, type Db } from '../store/database.js';

export interface NamedVolume {
  name: string;
  driver: string;
  volumeId: string;
  capacityBytes: number;
  /** CreateVolume's volume_context, passed to every stage and publish. */
  context: Record<string, string>;
  createdAt: number;
  /** Grown while mounted nowhere: NodeExpandVolume is owed at the next publish (as kubelet does). */
  nodeExpansionPending: boolean;
}

export type StagingState = 'staging' | 'staged' | 'unstaging';

export interface Staging {
  driver: string;
  volumeId: string;
  path: string;
  state: StagingState;
  /** ControllerPublishVolume was called for this node (and its publish_context). */
  controllerPublished: boolean;
  publishContext: Record<string, string>;
}

export type PublishState = 'publishing' | 'published' | 'unpublishing';

export interface Publish {
  podUid: string;
  volumeName: string;
  podName: string;
  podNamespace: string;
  driver: string;
  volumeId: string;
  /** The named volume, or '' for an inline ephemeral one. */
  namedVolume: string;
  ephemeral: boolean;
  readOnly: boolean;
  /** The plugin's target dir; its parent is keelson's. */
  targetPath: string;
  /** staging_target_path given to NodePublishVolume, '' when the plugin does not stage. */
  stagingPath: string;
  state: PublishState;
  createdAt: number;
}

interface VolumeRow {
  name: string; driver: string; volume_id: string; capacity_bytes: number; context: string; created_at: number; node_expansion_pending: number;
}

function volumeOf(r: VolumeRow): NamedVolume {
  return {
    name: r.name, driver: r.driver, volumeId: r.volume_id, capacityBytes: r.capacity_bytes, context: JSON.parse(r.context) as Record<string, string>,
    createdAt: r.created_at, nodeExpansionPending: r.node_expansion_pending === 1,
  };
}

interface StagingRow {
  driver: string; volume_id: string; path: string; state: StagingState; controller_published: number; publish_context: string;
}

function stagingOf(r: StagingRow): Staging {
  return {
    driver: r.driver, volumeId: r.volume_id, path: r.path, state: r.state, controllerPublished: r.controller_published === 1,
    publishContext: JSON.parse(r.publish_context) as Record<string, string>,
  };
}

interface PublishRow {
  pod_uid: string; volume_name: string; pod_name: string; pod_namespace: string; driver: string; volume_id: string;
  named_volume: string; ephemeral: number; read_only: number; target_path: string; staging_path: string; state: PublishState; created_at: number;
}

function publishOf(r: PublishRow): Publish {
  return {
    podUid: r.pod_uid, volumeName: r.volume_name, podName: r.pod_name, podNamespace: r.pod_namespace, driver: r.driver, volumeId: r.volume_id,
    namedVolume: r.named_volume, ephemeral: r.ephemeral === 1, readOnly: r.read_only === 1, targetPath: r.target_path,
    stagingPath: r.staging_path, state: r.state, createdAt: r.created_at,
  };
}

export class CsiStore {
  constructor(private readonly db: Db) {
    migrate(db, {
      module: 'csi',
      steps: [
        `CREATE TABLE csi_volumes (
          name TEXT PRIMARY KEY,
          driver TEXT NOT NULL,
          volume_id TEXT NOT NULL,
          capacity_bytes INTEGER NOT NULL,
          context TEXT NOT NULL,
          created_at INTEGER NOT NULL
        );
        CREATE TABLE csi_stagings (
          driver TEXT NOT NULL,
          volume_id TEXT NOT NULL,
          path TEXT NOT NULL,
          state TEXT NOT NULL,
          controller_published INTEGER NOT NULL DEFAULT 0,
          publish_context TEXT NOT NULL DEFAULT '{}',
          PRIMARY KEY (driver, volume_id)
        );
        CREATE TABLE csi_publishes (
          pod_uid TEXT NOT NULL,
          volume_name TEXT NOT NULL,
          pod_name TEXT NOT NULL,
          pod_namespace TEXT NOT NULL,
          driver TEXT NOT NULL,
          volume_id TEXT NOT NULL,
          named_volume TEXT NOT NULL,
          ephemeral INTEGER NOT NULL,
          read_only INTEGER NOT NULL,
          target_path TEXT NOT NULL,
          staging_path TEXT NOT NULL,
          state TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          PRIMARY KEY (pod_uid, volume_name)
        )`,
        'ALTER TABLE csi_volumes ADD COLUMN node_expansion_pending INTEGER NOT NULL DEFAULT 0',
      ],
    });
  }

  volume(name: string): NamedVolume | null {
    const r = this.db.prepare('SELECT * FROM csi_volumes WHERE name = ?').get(name) as VolumeRow | undefined;
    return r ? volumeOf(r) : null;
  }

  volumes(): NamedVolume[] {
    return (this.db.prepare('SELECT * FROM csi_volumes ORDER BY name').all() as VolumeRow[]).map(volumeOf);
  }

  putVolume(v: NamedVolume): void {
    this.db.prepare(`INSERT INTO csi_volumes (name, driver, volume_id, capacity_bytes, context, created_at, node_expansion_pending) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (name) DO UPDATE SET capacity_bytes = excluded.capacity_bytes, context = excluded.context,
        node_expansion_pending = excluded.node_expansion_pending`)
      .run(v.name, v.driver, v.volumeId, v.capacityBytes, JSON.stringify(v.context), v.createdAt, v.nodeExpansionPending ? 1 : 0);
  }

  deleteVolume(name: string): void {
    this.db.prepare('DELETE FROM csi_volumes WHERE name = ?').run(name);
  }

  staging(driver: string, volumeId: string): Staging | null {
    const r = this.db.prepare('SELECT * FROM csi_stagings WHERE driver = ? AND volume_id = ?').get(driver, volumeId) as StagingRow | undefined;
    return r ? stagingOf(r) : null;
  }

  stagings(): Staging[] {
    return (this.db.prepare('SELECT * FROM csi_stagings').all() as StagingRow[]).map(stagingOf);
  }

  putStaging(s: Staging): void {
    this.db.prepare(`INSERT INTO csi_stagings (driver, volume_id, path, state, controller_published, publish_context) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (driver, volume_id) DO UPDATE SET path = excluded.path, state = excluded.state,
        controller_published = excluded.controller_published, publish_context = excluded.publish_context`)
      .run(s.driver, s.volumeId, s.path, s.state, s.controllerPublished ? 1 : 0, JSON.stringify(s.publishContext));
  }

  deleteStaging(driver: string, volumeId: string): void {
    this.db.prepare('DELETE FROM csi_stagings WHERE driver = ? AND volume_id = ?').run(driver, volumeId);
  }

  publishes(filter: { podUid?: string; driver?: string; volumeId?: string; namedVolume?: string } = {}): Publish[] {
    const where: string[] = [];
    const args: string[] = [];
    if (filter.podUid !== undefined) { where.push('pod_uid = ?'); args.push(filter.podUid); }
    if (filter.driver !== undefined) { where.push('driver = ?'); args.push(filter.driver); }
    if (filter.volumeId !== undefined) { where.push('volume_id = ?'); args.push(filter.volumeId); }
    if (filter.namedVolume !== undefined) { where.push('named_volume = ?'); args.push(filter.namedVolume); }
    const sql = `SELECT * FROM csi_publishes${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, volume_name`;
    return (this.db.prepare(sql).all(...args) as PublishRow[]).map(publishOf);
  }

  putPublish(p: Publish): void {
    this.db.prepare(`INSERT INTO csi_publishes (pod_uid, volume_name, pod_name, pod_namespace, driver, volume_id, named_volume, ephemeral,
        read_only, target_path, staging_path, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (pod_uid, volume_name) DO UPDATE SET state = excluded.state`)
      .run(p.podUid, p.volumeName, p.podName, p.podNamespace, p.driver, p.volumeId, p.namedVolume, p.ephemeral ? 1 : 0,
        p.readOnly ? 1 : 0, p.targetPath, p.stagingPath, p.state, p.createdAt);
  }

  deletePublish(podUid: string, volumeName: string): void {
    this.db.prepare('DELETE FROM csi_publishes WHERE pod_uid = ? AND volume_name = ?').run(podUid, volumeName);
  }
}

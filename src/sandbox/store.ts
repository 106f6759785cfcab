// Sandboxes in SQLite. The (name, namespace, uid, attempt) key is unique, so inserting the row
// first reserves the name atomically; each change of a record is one UPDATE.
import { migrate, type Db } from '../store/database.js';
import { AlreadyExistsError } from '../errors.js';
import type { SandboxRecord } from './types.js';

const MIGRATION = {
  module: 'sandboxes',
  steps: [
    `CREATE TABLE sandboxes (
       id TEXT PRIMARY KEY,
       name TEXT NOT NULL,
       namespace TEXT NOT NULL,
       uid TEXT NOT NULL,
       attempt INTEGER NOT NULL,
       record TEXT NOT NULL,
       UNIQUE (name, namespace, uid, attempt)
     );
     CREATE TABLE sandbox_containers (
       sandbox_id TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,
       container_id TEXT NOT NULL,
       PRIMARY KEY (sandbox_id, container_id)
     );`,
    // A container's pod is the container store's sandbox id alone (src/pod/ cascades by it).
    'DROP TABLE sandbox_containers;',
  ],
};

export class SandboxStore {
  constructor(private readonly db: Db) {
    migrate(db, MIGRATION);
  }

  /** Inserts a new record; AlreadyExists when a sandbox with the same name key exists. */
  insert(record: SandboxRecord): void {
    const m = record.metadata;
    try {
      this.db.prepare('INSERT INTO sandboxes (id, name, namespace, uid, attempt, record) VALUES (?, ?, ?, ?, ?, ?)')
        .run(record.id, m.name, m.namespace, m.uid, m.attempt, JSON.stringify(record));
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        const other = this.db.prepare('SELECT id FROM sandboxes WHERE name = ? AND namespace = ? AND uid = ? AND attempt = ?')
          .get(m.name, m.namespace, m.uid, m.attempt) as { id: string } | undefined;
        throw new AlreadyExistsError(`pod sandbox name "${m.name}_${m.namespace}_${m.uid}_${m.attempt}" is reserved for ${other?.id ?? 'another sandbox'}`);
      }
      throw err;
    }
  }

  update(record: SandboxRecord): void {
    this.db.prepare('UPDATE sandboxes SET record = ? WHERE id = ?').run(JSON.stringify(record), record.id);
  }

  get(id: string): SandboxRecord | null {
    const row = this.db.prepare('SELECT record FROM sandboxes WHERE id = ?').get(id) as { record: string } | undefined;
    return row ? (JSON.parse(row.record) as SandboxRecord) : null;
  }

  list(): SandboxRecord[] {
    const rows = this.db.prepare('SELECT record FROM sandboxes ORDER BY rowid').all() as Array<{ record: string }>;
    return rows.map((r) => JSON.parse(r.record) as SandboxRecord);
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM sandboxes WHERE id = ?').run(id);
  }
}

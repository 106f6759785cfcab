import Database from 'better-sqlite3';

export type Db = Database.Database;

/**
 * A schema change owned by one module. Each module (images, sandboxes, containers, ...)
 * keeps its own list and only ever appends to it; applied steps are never edited.
 */
export interface Migration {
  module: string;
  /** The SQL of each version, in order: steps[0] is version 1. */
  steps: string[];
}

/** Opens (creating if needed) the metadata database: WAL, foreign keys, a busy timeout. */
export function openDatabase(path: string): Db {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.exec(`CREATE TABLE IF NOT EXISTS schema_versions (
    module TEXT PRIMARY KEY,
    version INTEGER NOT NULL
  )`);
  return db;
}

/** Brings one module's tables up to date, each step in its own transaction. */
export function migrate(db: Db, migration: Migration): void {
  const row = db.prepare('SELECT version FROM schema_versions WHERE module = ?').get(migration.module) as
    | { version: number }
    | undefined;
  const current = row?.version ?? 0;
  if (current > migration.steps.length) {
    throw new Error(
      `database schema of ${migration.module} is version ${current}, newer than this keelson knows ` +
        `(${migration.steps.length}); refusing to downgrade`,
    );
  }
  for (let version = current + 1; version <= migration.steps.length; version++) {
    db.transaction(() => {
      db.exec(migration.steps[version - 1] as string);
      db.prepare(
        'INSERT INTO schema_versions (module, version) VALUES (?, ?) ON CONFLICT(module) DO UPDATE SET version = excluded.version',
      ).run(migration.module, version);
    })();
  }
}

// Container records in the metadata database (module 'containers'). The record is kept as
// JSON beside the columns that are looked up or must be unique.

import { AlreadyExistsError } from '../errors.js';
import { migrate, type Db } from '../store/database.js';
import { compareNs, nsString } from '../time.js';
import type { ContainerRecord } from './types.js';

const MIGRATION = {
  module: 'containers',
  steps: [
    `CREATE TABLE containers (
       id TEXT PRIMARY KEY,
       sandbox_id TEXT NOT NULL,
       name TEXT NOT NULL,
       attempt INTEGER NOT NULL,
       record TEXT NOT NULL,
       UNIQUE (sandbox_id, name, attempt)
     );
     CREATE INDEX containers_by_sandbox ON containers (sandbox_id);`,
  ],
};

export class ContainerStore {
  private readonly cache = new Map<string, ContainerRecord>();

  constructor(private readonly db: Db) {
    migrate(db, MIGRATION);
    for (const row of db.prepare('SELECT record FROM containers').all() as Array<{ record: string }>) {
      const record = JSON.parse(row.record) as ContainerRecord;
      // Records written before timestamps were strings hold (inexact) numbers.
      record.createdAt = nsString(record.createdAt);
      record.startedAt = nsString(record.startedAt);
      record.finishedAt = nsString(record.finishedAt);
      this.cache.set(record.id, record);
    }
  }

  /** Records a new container; a second one with the same sandbox, name and attempt is refused. */
  insert(record: ContainerRecord): void {
    const clash = [...this.cache.values()].find((c) =>
      c.sandboxId === record.sandboxId && c.name === record.name && c.attempt === record.attempt);
    if (clash) {
      throw new AlreadyExistsError(
        `container "${record.name}" attempt ${record.attempt} already exists in sandbox ${record.sandboxId} (id ${clash.id})`);
    }
    this.db.prepare('INSERT INTO containers (id, sandbox_id, name, attempt, record) VALUES (?, ?, ?, ?, ?)')
      .run(record.id, record.sandboxId, record.name, record.attempt, JSON.stringify(record));
    this.cache.set(record.id, record);
  }

  update(record: ContainerRecord): void {
    this.db.prepare('UPDATE containers SET record = ? WHERE id = ?').run(JSON.stringify(record), record.id);
    this.cache.set(record.id, record);
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM containers WHERE id = ?').run(id);
    this.cache.delete(id);
  }

  get(id: string): ContainerRecord | undefined {
    return this.cache.get(id);
  }

  list(): ContainerRecord[] {
    return [...this.cache.values()];
  }

  /** The ids of a pod's containers, oldest first: the record's sandbox id is the pod link. */
  idsInSandbox(sandboxId: string): string[] {
    return [...this.cache.values()].filter((r) => r.sandboxId === sandboxId).sort((a, b) => compareNs(a.createdAt, b.createdAt)).map((r) => r.id);
  }
}

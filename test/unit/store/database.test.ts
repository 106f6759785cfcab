import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate, openDatabase, type Db } from '../../../src/store/database.js';

describe('metadata database', () => {
  let dir: string;
  let db: Db;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keelson-db-'));
    db = openDatabase(join(dir, 'meta.db'));
  });
  afterEach(async () => {
    db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('opens in WAL mode with foreign keys on', () => {
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
  });

  it('applies only the steps not yet applied, per module', () => {
    const steps = ['CREATE TABLE a (id TEXT PRIMARY KEY)'];
    migrate(db, { module: 'm', steps });
    migrate(db, { module: 'm', steps });
    migrate(db, { module: 'm', steps: [...steps, 'ALTER TABLE a ADD COLUMN name TEXT'] });
    db.prepare('INSERT INTO a (id, name) VALUES (?, ?)').run('x', 'y');
    expect(db.prepare('SELECT version FROM schema_versions WHERE module = ?').get('m')).toEqual({ version: 2 });
  });

  it('rolls back a failing step and keeps the old version', () => {
    migrate(db, { module: 'm', steps: ['CREATE TABLE a (id TEXT)'] });
    expect(() =>
      migrate(db, { module: 'm', steps: ['CREATE TABLE a (id TEXT)', 'CREATE TABLE b (x TEXT); SELECT nonsense FROM nowhere'] }),
    ).toThrow();
    expect(db.prepare('SELECT version FROM schema_versions WHERE module = ?').get('m')).toEqual({ version: 1 });
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'b'").get()).toBeUndefined();
  });

  it('refuses a database newer than the code', () => {
    migrate(db, { module: 'm', steps: ['CREATE TABLE a (id TEXT)', 'CREATE TABLE b (id TEXT)'] });
    expect(() => migrate(db, { module: 'm', steps: ['CREATE TABLE a (id TEXT)'] })).toThrow(/refusing to downgrade/);
  });
});

// What the supervisor remembers per (pod, container name) in SQLite (module 'supervisor'), so a
// restarted daemon resumes with the same backoff, and `keelson pods` can show readiness.
import { migrate, type Db } from '../store/database.js';
import type { HookResult } from './lifecycle.js';

export interface ProbeResult {
  kind: 'liveness' | 'readiness' | 'startup';
  ok: boolean;
  message: string;
  at: number; // epoch ms
}

export interface SupervisedContainer {
  sandboxId: string;
  name: string;
  /** The container id the row's exit handling last saw exit (so one exit is handled once). */
  handledExitId: string;
  /** Current restart delay; 0 before the first crash or after a reset. */
  backoffMs: number;
  /** Epoch ms before which no restart happens; 0 for none pending. */
  restartAt: number;
  ready: boolean;
  started: boolean;
  lastProbe: ProbeResult | null;
  /** The last postStart or preStop run, so a failed hook shows in `keelson inspect`. */
  lastHook: HookResult | null;
}

export class SupervisorStore {
  constructor(private readonly db: Db) {
    migrate(db, {
      module: 'supervisor',
      steps: [
        `CREATE TABLE supervised_containers (
          sandbox_id TEXT NOT NULL,
          name TEXT NOT NULL,
          handled_exit_id TEXT NOT NULL DEFAULT '',
          backoff_ms INTEGER NOT NULL DEFAULT 0,
          restart_at INTEGER NOT NULL DEFAULT 0,
          ready INTEGER NOT NULL DEFAULT 0,
          started INTEGER NOT NULL DEFAULT 0,
          last_probe TEXT,
          PRIMARY KEY (sandbox_id, name)
        )`,
        'ALTER TABLE supervised_containers ADD COLUMN last_hook TEXT',
      ],
    });
  }

  get(sandboxId: string, name: string): SupervisedContainer {
    const row = this.db.prepare('SELECT * FROM supervised_containers WHERE sandbox_id = ? AND name = ?').get(sandboxId, name) as
      | { handled_exit_id: string; backoff_ms: number; restart_at: number; ready: number; started: number; last_probe: string | null; last_hook: string | null }
      | undefined;
    if (!row) return { sandboxId, name, handledExitId: '', backoffMs: 0, restartAt: 0, ready: false, started: false, lastProbe: null, lastHook: null };
    return {
      sandboxId, name, handledExitId: row.handled_exit_id, backoffMs: row.backoff_ms, restartAt: row.restart_at,
      ready: row.ready === 1, started: row.started === 1, lastProbe: row.last_probe ? (JSON.parse(row.last_probe) as ProbeResult) : null,
      lastHook: row.last_hook ? (JSON.parse(row.last_hook) as HookResult) : null,
    };
  }

  put(c: SupervisedContainer): void {
    this.db.prepare(`INSERT INTO supervised_containers (sandbox_id, name, handled_exit_id, backoff_ms, restart_at, ready, started, last_probe, last_hook)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (sandbox_id, name) DO UPDATE SET handled_exit_id = excluded.handled_exit_id, backoff_ms = excluded.backoff_ms,
        restart_at = excluded.restart_at, ready = excluded.ready, started = excluded.started, last_probe = excluded.last_probe,
        last_hook = excluded.last_hook`)
      .run(c.sandboxId, c.name, c.handledExitId, c.backoffMs, c.restartAt, c.ready ? 1 : 0, c.started ? 1 : 0, c.lastProbe ? JSON.stringify(c.lastProbe) : null,
        c.lastHook ? JSON.stringify(c.lastHook) : null);
  }

  /** Drops rows of pods that no longer exist. */
  prune(liveSandboxIds: Set<string>): void {
    const ids = this.db.prepare('SELECT DISTINCT sandbox_id FROM supervised_containers').all() as Array<{ sandbox_id: string }>;
    for (const { sandbox_id: id } of ids) {
      if (!liveSandboxIds.has(id)) this.db.prepare('DELETE FROM supervised_containers WHERE sandbox_id = ?').run(id);
    }
  }
}

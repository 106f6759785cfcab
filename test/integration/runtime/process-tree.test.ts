// killProcessTree with an environment mark: real processes on this host, one of them
// double-forked out of the tree (re-parented), one carrying a mark that only starts alike.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { killProcessTree, markedProcesses, pidNamespaceOf } from '../../../src/runtime/process-tree.js';
import { waitFor } from '../../fixtures/wait.js';

const started: ChildProcess[] = [];
const extraPids: number[] = [];

afterEach(() => {
  for (const p of [...started.map((c) => c.pid), ...extraPids]) {
    try {
      if (p !== undefined) process.kill(p, 'SIGKILL');
    } catch {
      // gone
    }
  }
  started.length = 0;
  extraPids.length = 0;
});

/** Pids whose command line is exactly `sleep <n>`. */
function sleepers(n: number): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
    try {
      return readFileSync(`/proc/${d}/cmdline`, 'latin1') === `sleep\0${n}\0`;
    } catch {
      return false;
    }
  }).map(Number);
}

function start(cmd: string, env: Record<string, string>): ChildProcess {
  const child = spawn('sh', ['-c', cmd], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: 'ignore' });
  started.push(child);
  return child;
}

describe('killProcessTree with an environment mark', () => {
  it('kills a double-forked, setsid descendant that left the tree, and nothing with a different mark', async () => {
    const ns = pidNamespaceOf(process.pid);
    expect(ns).toMatch(/^pid:\[\d+\]$/);
    const entry = 'KEELSON_EXEC_ID=0123abcd';
    const child = start('(setsid sleep 4341 &); exec sleep 4342', { KEELSON_EXEC_ID: '0123abcd' });
    // Same name, a value that starts alike: not the same mark.
    start('exec sleep 4343', { KEELSON_EXEC_ID: '0123abcdef' });
    const escaped = await waitFor('sleep 4341', () => sleepers(4341)[0]);
    extraPids.push(escaped);
    await waitFor('sleep 4342 and 4343', () => (sleepers(4342).length && sleepers(4343).length ? true : undefined));
    // 4341 is not in the tree of the sh that became `sleep 4342`.
    const ppid = Number(readFileSync(`/proc/${escaped}/stat`, 'latin1').split(') ')[1]!.split(' ')[1]);
    expect(ppid).not.toBe(child.pid);

    expect(markedProcesses({ pidNamespace: ns!, entry }).sort()).toEqual([escaped, child.pid].sort());
    const killed = killProcessTree(child.pid!, { pidNamespace: ns!, entry });
    expect(killed).toEqual(expect.arrayContaining([escaped, child.pid]));
    await waitFor('4341 and 4342 gone', () => (sleepers(4341).length + sleepers(4342).length === 0 ? true : undefined), 5_000);
    expect(sleepers(4343)).toHaveLength(1);
  });

  it('finds nothing for a mark in another PID namespace', () => {
    expect(markedProcesses({ pidNamespace: 'pid:[1]', entry: `PATH=${process.env.PATH ?? ''}` })).toEqual([]);
  });
});

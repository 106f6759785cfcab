import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { NativeError, tryLockFile, type FileLock } from '../../../src/native.js';

const ADDON = fileURLToPath(new URL('../../../native/build/Release/keelson_native.node', import.meta.url));

/** Exit status of util-linux `flock -n`: 0 when it got the lock, 1 when it is held. */
function flockProbe(file: string): number | null {
  return spawnSync('flock', ['-n', file, 'true']).status;
}

describe('native file lock', () => {
  let tmp: string;
  const held: FileLock[] = [];

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-lock-'));
  });

  afterEach(() => {
    for (const lock of held.splice(0)) lock.release();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  function lock(file: string): FileLock | null {
    const l = tryLockFile(file);
    if (l) held.push(l);
    return l;
  }

  it('holds an exclusive lock until released', () => {
    const file = path.join(tmp, 'keelson.lock');
    const l = lock(file);
    expect(l).not.toBeNull();
    expect(l?.held).toBe(true);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(flockProbe(file)).toBe(1);
    // flock belongs to the open file, so a second open in this process is refused too.
    expect(tryLockFile(file)).toBeNull();

    l?.release();
    expect(l?.held).toBe(false);
    expect(() => l?.fd).toThrow(/released/);
    l?.release();
    expect(flockProbe(file)).toBe(0);
    expect(lock(file)).not.toBeNull();
  });

  it('is not inherited by child processes', async () => {
    const file = path.join(tmp, 'keelson.lock');
    const l = lock(file);
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await once(child, 'spawn');
      l?.release();
      // With a leaked fd the sleeping child would still hold the lock.
      expect(flockProbe(file)).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('dies with the process that holds it', async () => {
    const file = path.join(tmp, 'keelson.lock');
    const script = `
      const m = require(${JSON.stringify(ADDON)});
      const fd = m.tryLockFile(${JSON.stringify(file)});
      process.stdout.write(fd === null ? 'busy\\n' : 'locked\\n');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
      expect(chunk.toString()).toBe('locked\n');
      expect(tryLockFile(file)).toBeNull();
      expect(flockProbe(file)).toBe(1);
    } finally {
      child.kill('SIGKILL');
    }
    await once(child, 'exit');
    expect(lock(file)).not.toBeNull();
  });

  it('throws a NativeError when the file cannot be opened', () => {
    const file = path.join(tmp, 'missing', 'keelson.lock');
    let err: unknown;
    try {
      tryLockFile(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NativeError);
    expect(err).toMatchObject({ code: 'ENOENT', syscall: 'open', path: file });
  });
});

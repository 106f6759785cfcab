// The zstd driver: Node 20 has no zstd, so layers compressed with it stream through
// Debian's `zstd -d` as a subprocess (stdin: compressed, stdout: tar).
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { KeelsonError } from '../../errors.js';

export const ZSTD_BIN = 'zstd';

export function zstdDecompressor(what: string): Duplex {
  const child = spawn(ZSTD_BIN, ['-d', '-c', '-q', '--no-progress'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 4096) stderr += d.toString('utf8');
  });
  const duplex = Duplex.from({ writable: child.stdin, readable: child.stdout });
  child.on('error', (err) => duplex.destroy(new KeelsonError('Internal', `${what}: cannot run ${ZSTD_BIN}: ${err.message}`)));
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGKILL') {
      duplex.destroy(new KeelsonError('FailedPrecondition', `${what}: zstd decompression failed (exit ${code ?? signal}): ${stderr.trim()}`));
    }
  });
  // Stopping early (a failed pull) must not leave the subprocess behind.
  duplex.on('close', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return duplex;
}

// Driver of CRIU (`criu`), the one program behind checkpointing: runc calls it to dump a
// container, keelson only asks whether it can run here at all. `criu check` probes the
// kernel features CRIU needs; a CRIU that fails it cannot dump anything, so the answer
// (with CRIU's own first error line) is what checkpoint calls refuse with.

import { execa } from 'execa';
import { messageOf } from '../errors.js';
import { findExecutable } from './find-executable.js';

export type CriuAvailability =
  | { usable: true; binary: string }
  | { usable: false; reason: string };

/** Bound on `criu check`: it only probes the kernel, a healthy one answers in well under a second. */
const CHECK_TIMEOUT_MS = 10_000;

export class Criu {
  #availability: Promise<CriuAvailability> | null = null;

  /** @param pathOrName the configured `criu.path`: an absolute path or a name looked up on PATH */
  constructor(readonly pathOrName: string = 'criu', readonly timeoutMs: number = CHECK_TIMEOUT_MS) {}

  /**
   * Whether CRIU can checkpoint on this machine. Checked once and cached: the kernel does not
   * change under a running daemon, and `criu check` takes a few hundred ms.
   */
  availability(): Promise<CriuAvailability> {
    this.#availability ??= this.#check();
    return this.#availability;
  }

  async #check(): Promise<CriuAvailability> {
    const binary = findExecutable(this.pathOrName);
    if (!binary) return { usable: false, reason: `criu is not installed (looked for "${this.pathOrName}")` };
    const result = await execa(binary, ['check'], { reject: false, timeout: this.timeoutMs, stdin: 'ignore', all: true });
    if (result.timedOut) return { usable: false, reason: `${binary} check did not answer within ${this.timeoutMs} ms` };
    if (result.failed || result.exitCode !== 0) {
      const output = result.all ?? '';
      const why = firstErrorLine(output) ?? (result.exitCode === undefined ? messageOf(result) : `${binary} check exited with code ${result.exitCode}`);
      return { usable: false, reason: why };
    }
    return { usable: true, binary };
  }
}

/** The first line CRIU marks as an error ("Error (file:line): ..."), else the first non-empty line. */
export function firstErrorLine(output: string): string | null {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /^Error\b/.test(l)) ?? lines[0] ?? null;
}

// What a streaming session drives, whether it is an exec'd process (exec-process.ts) or an
// attach to a container's main process (attach-process.ts).

export type OutputStream = 'stdout' | 'stderr';

export interface ExecProcess {
  writeStdin(data: Buffer): void;
  closeStdin(): void;
  resize(width: number, height: number): void;
  /** Flow control: stop reading output while the client is slow. */
  pause(): void;
  resume(): void;
  /** Exit code (128+n for a signal), once the process is gone and its output read. */
  readonly exited: Promise<number>;
  /** Ends the exec'd process (client gone). */
  kill(): void;
}

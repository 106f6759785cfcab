// "An OCI runtime run under a monitor": what the container service asks of it. One
// implementation today (conmon + runc/crun, src/container/conmon.ts + runc.ts).

export interface CreateOptions {
  id: string;
  /** Holds config.json and rootfs/ (or config.json pointing at the rootfs). */
  bundle: string;
  /** Per-container state dir of the monitor (pid files, exit file, oom marker). */
  stateDir: string;
  /** The CRI log file the monitor writes. */
  logPath: string;
  /** Bytes per log file before the monitor truncates it; -1 for no limit. */
  logSizeMax?: number;
  /** The container's stdin is a pipe the monitor holds (attach writes to it). */
  stdin?: boolean;
  /** Close that stdin when the first attach client leaves. */
  stdinOnce?: boolean;
  /** The container's process has a terminal (the monitor holds the pty master). */
  tty?: boolean;
}

export interface CreatedProcess {
  /** Host pid of the container's init process. */
  pid: number;
  /** Host pid of the monitor. */
  monitorPid: number;
}

export interface ExitRecord {
  exitCode: number;
  /** When the monitor wrote the exit file. */
  exitedAt: Date;
  oomKilled: boolean;
}

export type RuntimeStatus = 'created' | 'running' | 'paused' | 'stopped' | 'creating';

export interface ExecOptions {
  cmd: string[];
  timeoutMs: number;
  /** Each stream is kept up to this many bytes; the rest is dropped. */
  maxOutputBytes: number;
}

export interface ExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
  timedOut: boolean;
}

export interface OciRuntime {
  create(opts: CreateOptions): Promise<CreatedProcess>;
  start(id: string): Promise<void>;
  kill(id: string, signal: string): Promise<void>;
  /** runc state's status, or null when the runtime does not know the id. */
  state(id: string): Promise<{ status: RuntimeStatus; pid: number } | null>;
  /** Deletes the runtime's record (forcefully). Idempotent. */
  delete(id: string): Promise<void>;
  /** Whether the runtime still holds a record of the id (on disk: no process is run to ask). */
  hasRecord(id: string): boolean;
  exec(id: string, opts: ExecOptions): Promise<ExecResult>;
  /** The command line of an interactive exec, whose host pid lands in pidFile. */
  execCommandLine(id: string, cmd: string[], tty: boolean, pidFile: string): { file: string; args: string[] };
  update(id: string, resources: object): Promise<void>;
  /** The exit the monitor recorded, or null while the container runs. */
  readExit(id: string, stateDir: string): Promise<ExitRecord | null>;
  /** Forgets the recorded exit (on removal). */
  clearExit(id: string): Promise<void>;
  /** The directory where exit files of all containers appear, for watching. */
  readonly exitDir: string;
  /** Asks the monitor to reopen the log file (after rotation). */
  reopenLog(bundle: string): Promise<void>;
  /** Is the monitor still alive. */
  monitorAlive(stateDir: string): Promise<boolean>;
}

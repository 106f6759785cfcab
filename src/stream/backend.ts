// What the streaming server needs from the container and sandbox services, as a small
// interface the daemon fills in (src/stream never imports a service directly).

export interface StreamBackend {
  /** Command line of an interactive exec in a running container; the exec'd pid goes to pidFile. */
  execCommandLine(containerId: string, cmd: string[], tty: boolean, pidFile: string): Promise<{ file: string; args: string[] }>;
  /**
   * The bundle dir holding conmon's attach socket and ctl fifo of a running container, and how
   * it was created (stdin_once decides whether an attach outlives the client's stdin).
   */
  attachTarget(containerId: string): Promise<{ bundle: string; stdin: boolean; stdinOnce: boolean; tty: boolean }>;
  /** The pinned network namespace of a ready sandbox, null for host network (throws when not ready). */
  sandboxNetns(sandboxId: string): string | null;
  /**
   * Where an exec keeps its pid file: the daemon's own state dir (emptied at start, so a kill
   * leaves nothing behind for good); the system temp dir when not given.
   */
  scratchDir?: string;
}

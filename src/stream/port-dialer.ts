// Dials 127.0.0.1:port inside a pod's network namespace. Node cannot open a socket in another
// netns, so a tiny relay process runs there: `nsenter --net=<pinned netns> busybox nc`, its
// stdin/stdout being the connection. One process per forwarded connection (~1 MiB each);
// busybox-static is already a dependency (test images) and needs nothing in the pod.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export interface PodConnection {
  readonly process: ChildProcessWithoutNullStreams;
  /** Resolves with nc's exit code and what it said on stderr. */
  readonly closed: Promise<{ code: number | null; stderr: string }>;
}

/** netns null: the pod uses the host's network. */
export function dialInNetns(netns: string | null, port: number, busybox = 'busybox'): PodConnection {
  const nc = [busybox, 'nc', '127.0.0.1', String(port)];
  const [file, ...args] = netns ? ['nsenter', `--net=${netns}`, '--', ...nc] : nc;
  const child = spawn(file as string, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { if (stderr.length < 4096) stderr += d.toString(); });
  child.stdin.on('error', () => undefined);
  const closed = new Promise<{ code: number | null; stderr: string }>((resolve) => {
    child.on('error', (err) => resolve({ code: -1, stderr: err.message }));
    child.on('close', (code) => resolve({ code, stderr: stderr.trim() }));
  });
  return { process: child, closed };
}

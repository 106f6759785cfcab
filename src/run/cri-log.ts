// Reading CRI log files (`<RFC3339Nano> <stdout|stderr> <F|P> <text>`): whole lines with the
// partial (P) pieces joined per stream (as crictl: a stdout piece never ends on a stderr line),
// optionally following the file as conmon appends to it.
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface LogLine {
  time: string;
  stream: 'stdout' | 'stderr';
  text: string;
  /** A piece no F line ended (yet): printed without a newline, as kubectl does. */
  partial?: boolean;
}

/** Parses complete lines of a CRI log, joining P pieces into the F line of the same stream that ends them. */
export class CriLogParser {
  private pending = '';
  private lastTime = '';
  private readonly partial: Record<LogLine['stream'], string[]> = { stdout: [], stderr: [] };

  push(chunk: string): LogLine[] {
    this.pending += chunk;
    const out: LogLine[] = [];
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      const raw = this.pending.slice(0, nl);
      this.pending = this.pending.slice(nl + 1);
      const m = /^(\S+) (stdout|stderr) ([FP])(?: (.*))?$/.exec(raw);
      if (!m) continue;
      const [, time = '', , tag, text = ''] = m;
      const stream = m[2] as LogLine['stream'];
      this.lastTime = time;
      const pieces = this.partial[stream];
      if (tag === 'P') {
        pieces.push(text);
        continue;
      }
      out.push({ time, stream, text: pieces.join('') + text });
      this.partial[stream] = [];
    }
    return out;
  }

  /** The pieces still waiting for their F line, per stream: the end of a log that stops mid-line. */
  flush(): LogLine[] {
    const out: LogLine[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      const pieces = this.partial[stream];
      if (pieces.length > 0) out.push({ time: this.lastTime, stream, text: pieces.join(''), partial: true });
      this.partial[stream] = [];
    }
    return out;
  }
}

/** The complete lines of a log file; with `toEnd`, also the pieces of a last, unfinished line. */
export function readLog(path: string, toEnd = false): { lines: LogLine[]; offset: number } {
  const parser = new CriLogParser();
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return { lines: [], offset: 0 };
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(st.size);
    const n = readSync(fd, buf, 0, st.size, 0);
    const lines = parser.push(buf.subarray(0, n).toString('utf8'));
    return { lines: toEnd ? [...lines, ...parser.flush()] : lines, offset: n };
  } finally {
    closeSync(fd);
  }
}

/**
 * Follows a log file from `offset`, calling `onLines` as lines complete, until `stop()`.
 * Polls (200 ms): the file may not exist yet, be truncated by conmon or replaced on restart.
 */
export function followLog(path: () => string, offset: number, onLines: (lines: LogLine[]) => void): { stop(): void } {
  const parser = new CriLogParser();
  let current = path();
  let pos = offset;
  const timer = setInterval(() => {
    const now = path();
    if (now !== current) {
      current = now;
      pos = 0;
    }
    const st = statSync(current, { throwIfNoEntry: false });
    if (!st) return;
    if (st.size < pos) pos = 0;
    if (st.size === pos) return;
    const fd = openSync(current, 'r');
    try {
      const buf = Buffer.alloc(st.size - pos);
      const n = readSync(fd, buf, 0, buf.length, pos);
      pos += n;
      const lines = parser.push(buf.subarray(0, n).toString('utf8'));
      if (lines.length > 0) onLines(lines);
    } finally {
      closeSync(fd);
    }
  }, 200);
  return { stop: () => clearInterval(timer) };
}

/** "10s", "5m", "2h", "1h30m" or an RFC 3339 time, as epoch ms. */
export function sinceToEpochMs(value: string, now = Date.now()): number {
  const rel = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(value);
  if (rel && value !== '') return now - ((Number(rel[1] ?? 0) * 60 + Number(rel[2] ?? 0)) * 60 + Number(rel[3] ?? 0)) * 1000;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new Error(`--since "${value}": expected a duration (10s, 5m, 1h30m) or an RFC 3339 time`);
  return t;
}

/** `<dir>/<n>.log` of the attempt before `attempt` (`<container dir>/<attempt-1>.log`), or null. */
export function previousAttemptLog(logPath: string, attempt: number): string | null {
  if (attempt <= 0) return null;
  const file = join(dirname(logPath), `${attempt - 1}.log`);
  return statSync(file, { throwIfNoEntry: false })?.isFile() ? file : null;
}

/** `<dir>/<n>.log` with the highest n (kubelet's per-attempt log files), or `<dir>/0.log`. */
export function newestAttemptLog(dir: string): string {
  let best = 0;
  try {
    for (const name of readdirSync(dir)) {
      const m = /^(\d+)\.log$/.exec(name);
      if (m && Number(m[1]) > best) best = Number(m[1]);
    }
  } catch {
    // not there yet
  }
  return join(dir, `${best}.log`);
}

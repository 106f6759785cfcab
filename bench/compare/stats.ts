// Pure helpers of bench/compare: percentiles, the results' shape, and the two tables.

/** Nearest-rank percentile (p in 0..100) of the samples; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

export type Runtime = 'keelson' | 'containerd';

/** Milliseconds per sample of one operation, per runtime. */
export interface OpResult {
  op: string;
  samples: Record<Runtime, number[]>;
}

export interface MemorySample {
  pods: number;
  runtime: Runtime;
  /** How many processes were counted (the daemon, its children, monitors and what they run). */
  processes: number;
  daemonRssKb: number;
  daemonPssKb: number;
  totalRssKb: number;
  totalPssKb: number;
}

function fmt(ms: number): string {
  if (Number.isNaN(ms)) return '-';
  return ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
}

function ratio(a: number, b: number): string {
  return Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : '-';
}

/** Left-aligns the first column, right-aligns the others, with a rule under the header. */
export function renderTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

export function latencyTable(results: readonly OpResult[]): string {
  const rows = results.map((r) => {
    const k50 = percentile(r.samples.keelson, 50);
    const c50 = percentile(r.samples.containerd, 50);
    return [r.op, fmt(k50), fmt(percentile(r.samples.keelson, 90)), fmt(c50), fmt(percentile(r.samples.containerd, 90)), ratio(k50, c50)];
  });
  return renderTable(['op (ms)', 'keelson p50', 'keelson p90', 'containerd p50', 'containerd p90', 'ratio p50'], rows);
}

function mib(kb: number): string {
  return (kb / 1024).toFixed(1);
}

/** One row per pod count: keelson and containerd side by side, PSS ratio of the totals. */
export function memoryTable(samples: readonly MemorySample[]): string {
  const counts = [...new Set(samples.map((s) => s.pods))].sort((a, b) => a - b);
  const rows = counts.map((pods) => {
    const k = samples.find((s) => s.pods === pods && s.runtime === 'keelson');
    const c = samples.find((s) => s.pods === pods && s.runtime === 'containerd');
    const cell = (s: MemorySample | undefined, f: (s: MemorySample) => string): string => (s ? f(s) : '-');
    return [
      String(pods),
      cell(k, (s) => String(s.processes)), cell(k, (s) => mib(s.daemonRssKb)), cell(k, (s) => mib(s.totalRssKb)), cell(k, (s) => mib(s.totalPssKb)),
      cell(c, (s) => String(s.processes)), cell(c, (s) => mib(s.daemonRssKb)), cell(c, (s) => mib(s.totalRssKb)), cell(c, (s) => mib(s.totalPssKb)),
      k && c ? ratio(k.totalPssKb, c.totalPssKb) : '-',
    ];
  });
  return renderTable(
    ['pods', 'k procs', 'k daemon RSS', 'k total RSS', 'k total PSS', 'c procs', 'c daemon RSS', 'c total RSS', 'c total PSS', 'ratio PSS'],
    rows,
  ) + '\n(MiB; k = keelson, c = containerd; totals: daemon + monitors (conmon / shims) + what they run)';
}

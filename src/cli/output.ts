// Output helpers shared by the client commands: human tables by default, `-o json|yaml` for scripts.
import { Option } from 'commander';
import { stringify } from 'yaml';

export function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table');
}

export function formatTable(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  return all.map((r) => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('   ').trimEnd()).join('\n');
}

/**
 * Maps whose keys are the user's (labels, sysctls, CSI parameters...) or a whole Kubernetes
 * object (podSpec, already camelCase): their keys are kept as they are.
 */
const OPAQUE_MAPS = new Set(['labels', 'annotations', 'sysctl', 'sysctls', 'podSpec', 'parameters', 'volumeContext', 'publishContext', 'secrets']);

const toCamel = (key: string): string => (/^[a-z][a-z0-9]*(_[a-z0-9]+)+$/.test(key) ? key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()) : key);

/**
 * One key style in `-o json|yaml`, camelCase as kubectl's: CRI messages arrive with the proto's
 * snake_case field names (runtime_name, pod_sandbox_id) and are converted here.
 */
export function camelKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const key = toCamel(k);
    out[key] = OPAQUE_MAPS.has(key) ? v : camelKeys(v);
  }
  return out;
}

/** Prints `data` as JSON or YAML (camelCase keys), or the table `table()` draws. */
export function printAs(format: string, data: unknown, table: () => string): void {
  if (format === 'json') console.log(JSON.stringify(camelKeys(data), null, 2));
  else if (format === 'yaml') process.stdout.write(stringify(camelKeys(data)));
  else console.log(table());
}

/** "3s", "5m", "2h", "4d" since a CRI nanosecond timestamp. */
export function ageOf(createdNs: string | number | null | undefined, now = Date.now()): string {
  const ms = Number(createdNs ?? 0) / 1e6;
  if (!ms) return '';
  const s = Math.max(0, Math.floor((now - ms) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export { shortId } from '../id-index.js';

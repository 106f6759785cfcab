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

/** Prints `data` as JSON or YAML, or the table `table()` draws. */
export function printAs(format: string, data: unknown, table: () => string): void {
  if (format === 'json') console.log(JSON.stringify(data, null, 2));
  else if (format === 'yaml') process.stdout.write(stringify(data));
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

/** An id cut short for people: 13 characters, as crictl prints them (12 where keelson always printed 12). */
export function shortId(id: string | null | undefined, length = 13): string {
  return (id ?? '').slice(0, length);
}

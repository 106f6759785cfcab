// Nanosecond timestamps since the epoch, exact: bigint arithmetic, decimal strings out (the
// CRI's int64 fields are strings; a Number of nanoseconds is inexact above 2^53, i.e. always).

const NS_PER_MS = 1_000_000n;

/** Now, in ns since the epoch (millisecond resolution, as Date.now). */
export function nowNs(): string {
  return msToNs(Date.now());
}

/** Milliseconds since the epoch (Date.now(), Date#getTime()) as ns. */
export function msToNs(ms: number): string {
  return (BigInt(Math.trunc(ms)) * NS_PER_MS).toString();
}

/** ns since the epoch as milliseconds (for Date arithmetic). */
export function nsToMs(ns: string): number {
  return Number(BigInt(ns) / NS_PER_MS);
}

/** A ns timestamp as an exact decimal string; numbers (records written before timestamps were strings) are rounded. */
export function nsString(value: string | number | bigint): string {
  if (typeof value === 'number') return BigInt(Math.round(value)).toString();
  return BigInt(value).toString();
}

/** Sort order of two ns timestamps. */
export function compareNs(a: string, b: string): number {
  const d = BigInt(a) - BigInt(b);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

// Network counters of a pod, read inside its network namespace: /proc/net/dev shows the
// interfaces of the reader's netns, so it is read by a `cat` run under nsenter.
import { execa } from 'execa';

export interface InterfaceCounters {
  name: string;
  rxBytes: bigint;
  rxErrors: bigint;
  txBytes: bigint;
  txErrors: bigint;
  rxPackets: bigint;
  txPackets: bigint;
  rxDropped: bigint;
  txDropped: bigint;
}

export function parseProcNetDev(text: string): InterfaceCounters[] {
  const out: InterfaceCounters[] = [];
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/);
    if (f.length < 16) continue;
    const n = (i: number): bigint => (/^\d+$/.test(f[i] ?? '') ? BigInt(f[i] as string) : 0n);
    out.push({ name, rxBytes: n(0), rxPackets: n(1), rxErrors: n(2), rxDropped: n(3), txBytes: n(8), txPackets: n(9), txErrors: n(10), txDropped: n(11) });
  }
  return out;
}

export async function readNetnsCounters(netnsPath: string, timeoutMs: number): Promise<InterfaceCounters[]> {
  const { stdout } = await execa('nsenter', [`--net=${netnsPath}`, '--', 'cat', '/proc/net/dev'], { timeout: timeoutMs, stdin: 'ignore' });
  return parseProcNetDev(stdout);
}

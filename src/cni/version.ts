// CNI spec versions keelson speaks, and their ordering.

/** Versions of the spec whose configs keelson accepts. */
export const SUPPORTED_CNI_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

/** Negative when a < b, 0 when equal, positive when a > b ("1.0.0" style, missing parts are 0). */
export function compareCniVersions(a: string, b: string): number {
  const pa = a.split('.').map((n) => Number.parseInt(n, 10) || 0);
  const pb = b.split('.').map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function isSupportedCniVersion(v: string): boolean {
  return (SUPPORTED_CNI_VERSIONS as readonly string[]).includes(v);
}

/** CHECK and prevResult on DEL exist from 0.4.0; STATUS and GC from 1.1.0. */
export function atLeast(version: string, min: string): boolean {
  return compareCniVersions(version, min) >= 0;
}

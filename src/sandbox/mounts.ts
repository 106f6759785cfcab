import { readFileSync } from 'node:fs';

/** Mount points currently in this process's mount namespace, with their fs type. */
export function mountPoints(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const point = left.split(' ')[4];
    if (!point) continue;
    const decoded = point.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    out.set(decoded, right.split(' ')[0] ?? '');
  }
  return out;
}

/** True when path is a pinned namespace (an nsfs mount). */
export function isPinnedNamespace(path: string, mounts = mountPoints()): boolean {
  return mounts.get(path) === 'nsfs';
}

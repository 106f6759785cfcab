// The CLI is a client: `keelson <anything but serve>` must not load the daemon's modules (the
// native addon, the layer unpacker, the services, the wiring). This walks the import graph
// of src/cli/main.ts over the sources, following static and lazy (`import()`) edges, and
// allows one edge into the daemon: `serve`'s lazy import of ./serve.js. One more lazy edge is
// allowed to the native addon alone: `keelson run` mounts a Memory emptyDir itself (tmpfs, on
// the host, before the pod starts) and `keelson rm`/`down` unmount it.
// The scanner is test/unit/fixtures/import-graph.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, erased, importsOf, resolveSpecifier, sourcesUnder, walk, type Edge } from '../fixtures/import-graph.js';

const ENTRY = 'src/cli/main.ts';

/** Modules only the daemon may load (a path ending in / is a whole folder). */
const DAEMON_ONLY = [
  'src/native.ts',
  'src/image/unpack/',
  'src/container/service.ts',
  'src/sandbox/service.ts',
  'src/daemon/',
  // keelson's own services, daemon side; the wire definitions are shared with the clients.
  'src/keelson-api/',
];
const SHARED_EXCEPTIONS = ['src/keelson-api/definitions.ts'];

/** The one edge allowed into daemon code: `keelson serve` loads the daemon on demand. */
const ALLOWED_EDGE = { from: 'src/cli/main.ts', to: 'src/cli/serve.ts', lazy: true };
/** Lazy edges allowed to one daemon-only module, and not beyond it. */
const ALLOWED_LEAVES = [
  // tmpfs for a Memory emptyDir, and its unmount (src/run/volumes.ts), loaded only then.
  { from: 'src/run/volumes.ts', to: 'src/native.ts', lazy: true },
  // the bind mount that pins a checked subPath, and its unmount (src/run/subpath.ts), loaded only then.
  { from: 'src/run/subpath.ts', to: 'src/native.ts', lazy: true },
  // the flock that keeps two `keelson run` of one pod apart (src/run/pod-guard.ts), loaded only by run.
  { from: 'src/run/pod-guard.ts', to: 'src/native.ts', lazy: true },
];

function isDaemonOnly(module: string): boolean {
  if (SHARED_EXCEPTIONS.includes(module)) return false;
  return DAEMON_ONLY.some((p) => (p.endsWith('/') ? module.startsWith(p) : module === p));
}

const isAllowedEdge = (from: string, edge: Edge): boolean =>
  from === ALLOWED_EDGE.from && edge.to === ALLOWED_EDGE.to && edge.lazy === ALLOWED_EDGE.lazy;
const isAllowedLeaf = (from: string, edge: Edge): boolean =>
  ALLOWED_LEAVES.some((a) => a.from === from && a.to === edge.to && a.lazy === edge.lazy);

describe('the CLI module graph', () => {
  it('reads static, side-effect and lazy imports, and knows erased ones', () => {
    const edges = importsOf(ENTRY);
    expect(edges).toContainEqual({ to: 'src/cli/threadpool.ts', lazy: false });
    expect(edges).toContainEqual({ to: 'src/cli/serve.ts', lazy: true });
    expect(importsOf('src/cli/manifest-input.ts')).toContainEqual({ to: 'src/kube/manifest.ts', lazy: true });
    expect(erased('type ', '{ A }')).toBe(true);
    expect(erased(undefined, '{ type A, type B }')).toBe(true);
    expect(erased(undefined, '{ type A, b }')).toBe(false);
    expect(erased(undefined, '* as grpc')).toBe(false);
  });

  it('the allowed edge is the door to the daemon', () => {
    // If serve moves, the allowance must move with it, not silently allow nothing.
    expect(importsOf(ALLOWED_EDGE.from)).toContainEqual({ to: ALLOWED_EDGE.to, lazy: true });
    const daemon = walk(ALLOWED_EDGE.to, () => false);
    expect([...daemon.keys()].filter(isDaemonOnly)).toEqual(expect.arrayContaining(['src/daemon/daemon.ts', 'src/native.ts']));
  });

  it('never reaches daemon-only modules except through `serve`', () => {
    const reached = walk(ENTRY, (from, edge) => isAllowedEdge(from, edge) || isAllowedLeaf(from, edge));
    expect(reached.size).toBeGreaterThan(20);
    const leaks = [...reached].filter(([m]) => isDaemonOnly(m)).map(([, chain]) => chain.join(' -> '));
    expect(leaks).toEqual([]);
  });

  it('an allowed leaf is only a lazy import of a module that loads no other daemon-only module', () => {
    for (const leaf of ALLOWED_LEAVES) {
      expect(importsOf(leaf.from)).toContainEqual({ to: leaf.to, lazy: true });
      expect(importsOf(leaf.from)).not.toContainEqual({ to: leaf.to, lazy: false });
      const beyond = [...walk(leaf.to, () => false).keys()].filter((m) => m !== leaf.to && isDaemonOnly(m));
      expect(beyond).toEqual([]);
    }
  });

  it('src/cli and src/run get their clients from src/client only', () => {
    const offenders: string[] = [];
    for (const module of [...sourcesUnder('src/cli'), ...sourcesUnder('src/run')]) {
      const text = readFileSync(join(ROOT, module), 'utf8');
      // Every import here, type-only ones too: the CRI types (src/cri/generated) are the one exception.
      for (const m of text.matchAll(/\bfrom\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]/g)) {
        const to = resolveSpecifier(module, (m[1] ?? m[2])!);
        if (!to) continue;
        if ((to.startsWith('src/cri/') && !to.startsWith('src/cri/generated/')) || to.startsWith('src/keelson-api/')) {
          offenders.push(`${module} -> ${to}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});

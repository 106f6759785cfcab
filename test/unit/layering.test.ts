// The layering ARCHITECTURE.md describes, kept by a test: no import cycle among the sources
// (at run time, type-only imports erased), and no arrow from a library back up to the code
// that uses it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, importsOf, sourcesUnder } from './fixtures/import-graph.js';

const SOURCES = sourcesUnder('src').filter((m) => !m.includes('/generated/'));

/** from-folder -> folders it must not import (at run time or for types). */
const FORBIDDEN: Array<{ from: string; to: string; except?: string; why: string }> = [
  { from: 'src/cri/', to: 'src/daemon/', why: 'the wiring uses the handlers, not the other way' },
  { from: 'src/csi/', to: 'src/cri/', why: 'CSI is a client of plugins, beside the CRI server' },
  { from: 'src/container/', to: 'src/sandbox/', why: 'pods (src/pod) join sandboxes and containers' },
  { from: 'src/container/', to: 'src/pod/', why: 'src/container is a library under the pod orchestrator' },
  { from: 'src/sandbox/', to: 'src/pod/', why: 'src/sandbox is a library under the pod orchestrator' },
  // The OCI spec builder is shared: the pod's infra process gets a spec as a container does.
  { from: 'src/sandbox/', to: 'src/container/', except: 'src/container/oci-spec/', why: 'pods (src/pod) join sandboxes and containers' },
  { from: 'src/runtime/', to: 'src/container/', why: 'the OCI runtime drivers know no container records' },
];

/** Where gRPC may be imported: the servers, the clients, and the CSI client of plugins. */
const GRPC_ALLOWED = ['src/cri/', 'src/keelson-api/', 'src/client/', 'src/cli/', 'src/csi/', 'src/proto-options.ts'];

/** The cycles a depth-first walk meets (each once, from where it closes). */
function cyclesIn(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (m: string): void => {
    state.set(m, 'open');
    stack.push(m);
    for (const to of graph.get(m) ?? []) {
      if (state.get(to) === 'open') cycles.push([...stack.slice(stack.indexOf(to)), to]);
      else if (!state.has(to)) visit(to);
    }
    stack.pop();
    state.set(m, 'done');
  };
  for (const m of graph.keys()) if (!state.has(m)) visit(m);
  return cycles;
}

const runtimeGraph = (): Map<string, string[]> =>
  new Map(SOURCES.map((m) => [m, importsOf(m).filter((e) => !e.lazy).map((e) => e.to)]));

/** Every relative import, type-only ones too (a type import is still an arrow in the design). */
function allImports(module: string): string[] {
  const text = readFileSync(join(ROOT, module), 'utf8');
  return [...text.matchAll(/\bfrom\s+['"](\.[^'"]+)['"]|\bimport\(\s*['"](\.[^'"]+)['"]/g)]
    .map((m) => join(module, '..', (m[1] ?? m[2])!).replace(/\.js$/, '.ts'));
}

describe('the source layering', () => {
  it('finds a cycle when there is one (the walker works)', () => {
    expect(cyclesIn(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual([['a', 'b', 'c', 'a']]);
    expect(cyclesIn(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]]))).toEqual([]);
    expect(SOURCES.length).toBeGreaterThan(100);
    expect(runtimeGraph().get('src/daemon/daemon.ts')?.length).toBeGreaterThan(5);
  });

  it('has no import cycle at run time', () => {
    expect(cyclesIn(runtimeGraph()).map((c) => c.join(' -> '))).toEqual([]);
  });

  it('has no arrow from a library back up', () => {
    const offenders: string[] = [];
    for (const module of SOURCES) {
      for (const to of allImports(module)) {
        const rule = FORBIDDEN.find((f) => module.startsWith(f.from) && to.startsWith(f.to) && !(f.except && to.startsWith(f.except)));
        if (rule) offenders.push(`${module} -> ${to} (${rule.why})`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('imports gRPC only in the servers, the clients and the CSI client', () => {
    const offenders = SOURCES.filter((m) => !GRPC_ALLOWED.some((a) => m.startsWith(a)))
      .filter((m) => /from\s+['"]@grpc\/grpc-js['"]/.test(readFileSync(join(ROOT, m), 'utf8')));
    expect(offenders).toEqual([]);
  });
});

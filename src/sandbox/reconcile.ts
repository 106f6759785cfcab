// Start-up: make the database and the disk agree. Half-made sandboxes (a crash during
// RunPodSandbox) are rolled back, including their CNI DEL; ready sandboxes whose netns is gone
// become NOTREADY (Stop still DELs them); pinned namespaces and dirs with no record are
// released; cached CNI attachments with no sandbox get a DEL.
import { readdir } from 'node:fs/promises';
import type { CniNetwork } from '../cni/network.js';
import type { PodInfra } from './infra.js';
import { messageOf } from '../errors.js';
import type { Logger } from '../logger.js';
import { isPinnedNamespace, mountPoints } from './mounts.js';
import type { SandboxLayout } from './layout.js';
import type { SandboxStore } from './store.js';
import { releaseLocalResources, tearDownNetwork } from './teardown.js';
import type { SandboxRecord } from './types.js';

export interface ReconcileReport {
  rolledBack: string[];
  markedNotReady: string[];
  orphansReleased: string[];
  attachmentsReleased: string[];
  problems: string[];
}

export async function reconcileSandboxes(deps: { store: SandboxStore; layout: SandboxLayout; cni: CniNetwork; log: Logger; infra?: PodInfra }): Promise<ReconcileReport> {
  const { store, layout, cni, log } = deps;
  const report: ReconcileReport = { rolledBack: [], markedNotReady: [], orphansReleased: [], attachmentsReleased: [], problems: [] };
  const mounts = mountPoints();
  const known = new Set<string>();
  for (const record of store.list()) {
    if (record.phase === 'creating') {
      await rollBackCreating(record, deps, report);
      continue;
    }
    known.add(record.id);
    if (record.state === 'SANDBOX_READY' && record.namespaces.net && !isPinnedNamespace(record.namespaces.net, mounts)) {
      record.state = 'SANDBOX_NOTREADY';
      store.update(record);
      report.markedNotReady.push(record.id);
    }
  }
  for (const dir of [layout.stateRoot(), layout.filesRoot()]) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const id of names) {
      if (known.has(id) || !/^[0-9a-f]{64}$/.test(id)) continue;
      const problems = await releaseLocalResources(layout, orphanRecord(id));
      report.problems.push(...problems);
      if (!report.orphansReleased.includes(id)) report.orphansReleased.push(id);
    }
  }
  // Attachments of sandboxes that still need their DEL stay; the rest are released.
  const valid = new Set(store.list().filter((r) => r.network === 'setup-started' || r.network === 'up').map((r) => r.id));
  try {
    const gc = await cni.gc(valid);
    report.attachmentsReleased.push(...gc.released);
    report.problems.push(...gc.errors);
  } catch (err) {
    report.problems.push(`CNI GC: ${messageOf(err)}`);
  }
  if (report.rolledBack.length + report.markedNotReady.length + report.orphansReleased.length + report.attachmentsReleased.length + report.problems.length > 0) {
    log.info({ ...report }, 'reconciled pod sandboxes with the disk');
  }
  return report;
}

async function rollBackCreating(record: SandboxRecord, deps: { store: SandboxStore; layout: SandboxLayout; cni: CniNetwork; infra?: PodInfra },
  report: ReconcileReport): Promise<void> {
  if (record.pidMode === 'POD' && deps.infra) {
    try {
      await deps.infra.stop(record);
      await deps.infra.remove(record, deps.layout.infraBundle(record.id));
    } catch (err) {
      report.problems.push(`${record.id}: infra process: ${messageOf(err)}`);
    }
  }
  try {
    await tearDownNetwork(deps.cni, record);
  } catch (err) {
    report.problems.push(`${record.id}: CNI DEL: ${messageOf(err)}`);
    record.phase = 'stopped';
    record.state = 'SANDBOX_NOTREADY';
    deps.store.update(record); // kept so RemovePodSandbox retries the DEL
  }
  report.problems.push(...(await releaseLocalResources(deps.layout, record)));
  if (record.network !== 'setup-started' && record.network !== 'up') deps.store.delete(record.id);
  report.rolledBack.push(record.id);
}

/** Dirs nobody recorded: no cgroup is known for them. */
function orphanRecord(id: string): { id: string; cgroup: { createdDirs: string[]; path: string } } {
  return { id, cgroup: { createdDirs: [], path: '' } };
}


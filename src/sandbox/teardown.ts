// Undoing a sandbox, step by step, each step idempotent: used by a failed RunPodSandbox, by
// Stop/Remove, and by start-up reconciliation. Every step runs even if an earlier one failed;
// the problems are returned so the caller can say what was left.
import { rm } from 'node:fs/promises';
import { removeCgroupDirs } from '../cgroup/pod-cgroup.js';
import type { CniNetwork } from '../cni/network.js';
import { messageOf } from '../errors.js';
import { unpinNamespace } from '../native.js';
import { unmountShm } from './pod-files.js';
import type { SandboxLayout } from './layout.js';
import type { SandboxRecord } from './types.js';

/** CNI DEL when the network was (maybe) set up; marks it down on success. */
export async function tearDownNetwork(cni: CniNetwork, record: SandboxRecord): Promise<void> {
  if (record.network !== 'setup-started' && record.network !== 'up') return;
  await cni.del({ containerId: record.id, netns: record.namespaces.net ?? '', ifName: record.cni?.ifName ?? 'eth0' },
    record.cni?.network);
  record.network = 'down';
  record.ips = [];
}

/** Everything but the network: shm, namespaces, cgroups, dirs. */
export async function releaseLocalResources(layout: SandboxLayout, record: Pick<SandboxRecord, 'id'> & { cgroup: { createdDirs: string[]; path: string; keelsonParent?: boolean } }): Promise<string[]> {
  const problems: string[] = [];
  const step = async (what: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      problems.push(`${what}: ${messageOf(err)}`);
    }
  };
  await step('unmount shm', () => unmountShm(layout.shm(record.id)));
  for (const kind of ['net', 'ipc', 'uts'] as const) {
    await step(`unpin ${kind} namespace`, () => unpinNamespace(layout.namespace(record.id, kind)));
  }
  await step('remove cgroup', () => removeCgroupDirs(record.cgroup.createdDirs, record.cgroup.path, {
    alsoTryParentOf: record.cgroup.keelsonParent ? record.cgroup.createdDirs.filter((d) => d.endsWith(record.cgroup.path)) : [],
  }));
  await step('remove state dir', () => rm(layout.stateDir(record.id), { recursive: true, force: true }));
  await step('remove sandbox dir', () => rm(layout.filesDir(record.id), { recursive: true, force: true }));
  return problems;
}

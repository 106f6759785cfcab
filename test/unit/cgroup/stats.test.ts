// The one cgroup stats reader, against cgroup trees written as files: v1 (a hierarchy per
// controller) and v2 (one unified tree), as the kernel lays out the files each reads.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CgroupMount } from '../../../src/cgroup/hierarchy.js';
import { readCgroupStats } from '../../../src/cgroup/stats.js';

const root = mkdtempSync(join(tmpdir(), 'keelson-cgstats-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function files(dir: string, content: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(content)) writeFileSync(join(dir, name), text);
}

describe('readCgroupStats', () => {
  it('reads a v1 layout: usage minus inactive file is the working set, oom kills from oom_control, memsw as swap', async () => {
    const mounts: CgroupMount[] = ['cpuacct', 'memory', 'pids'].map((c) => ({ path: join(root, 'v1', c), version: 1, controllers: [c] }));
    files(join(root, 'v1/cpuacct/pod/c'), { 'cpuacct.usage': '123456789\n' });
    files(join(root, 'v1/memory/pod/c'), {
      'memory.usage_in_bytes': '10000\n', 'memory.limit_in_bytes': '9223372036854771712\n',
      'memory.stat': 'cache 1\ntotal_inactive_file 3000\ntotal_rss 6000\ntotal_pgfault 40\ntotal_pgmajfault 2\n',
      'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n',
      'memory.memsw.usage_in_bytes': '10500\n', 'memory.memsw.limit_in_bytes': '9223372036854771712\n',
    });
    files(join(root, 'v1/pids/pod/c'), { 'pids.current': '3\n' });
    const s = await readCgroupStats(mounts, 'pod/c');
    expect(s).toMatchObject({
      exists: true, cpuUsageNs: 123456789n, memoryUsageBytes: 10000n, workingSetBytes: 7000n, rssBytes: 6000n,
      pageFaults: 40n, majorPageFaults: 2n, oomKills: 1n, processCount: 3n,
      memoryLimitBytes: null, swapUsageBytes: 500n, swapLimitBytes: null,
    });
  });

  it('reads a v2 layout: usage_usec in ns, memory.max, swap and PSI', async () => {
    const mounts: CgroupMount[] = [{ path: join(root, 'v2'), version: 2, controllers: [] }];
    files(join(root, 'v2/pod/c'), {
      'cpu.stat': 'usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n',
      'memory.current': '8192\n', 'memory.max': '65536\n', 'memory.swap.current': '0\n', 'memory.swap.max': 'max\n',
      'memory.stat': 'anon 4096\nfile 4096\ninactive_file 1024\npgfault 9\npgmajfault 1\n',
      'memory.events': 'low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n', 'pids.current': '2\n',
      'cpu.pressure': 'some avg10=1.50 avg60=0.00 avg300=0.00 total=1234\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
    });
    const s = await readCgroupStats(mounts, 'pod/c');
    expect(s).toMatchObject({
      exists: true, cpuUsageNs: 2_500_000n, memoryUsageBytes: 8192n, workingSetBytes: 7168n, rssBytes: 4096n,
      pageFaults: 9n, majorPageFaults: 1n, oomKills: 1n, processCount: 2n,
      memoryLimitBytes: 65536n, swapUsageBytes: 0n, swapLimitBytes: null,
    });
    expect(s.psi.cpu).toEqual({ some: { avg10: 1.5, avg60: 0, avg300: 0, totalUs: 1234n }, full: { avg10: 0, avg60: 0, avg300: 0, totalUs: 0n } });
    expect(s.psi.memory).toBeNull();
  });

  it('answers zeros and exists: false for a cgroup that is not there', async () => {
    const s = await readCgroupStats([{ path: join(root, 'none'), version: 2, controllers: [] }], 'gone');
    expect(s.exists).toBe(false);
    expect(s.memoryUsageBytes).toBe(0n);
    expect(s.psi).toEqual({ cpu: null, memory: null, io: null });
  });
});

import { describe, expect, it } from 'vitest';
import { latencyTable, memoryTable, percentile, renderTable } from '../../../bench/compare/stats.js';

describe('bench/compare percentiles', () => {
  it('takes the nearest rank', () => {
    const xs = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5];
    expect(percentile(xs, 50)).toBe(5);
    expect(percentile(xs, 90)).toBe(9);
    expect(percentile(xs, 100)).toBe(10);
    expect(percentile(xs, 0)).toBe(1);
    expect(percentile([42], 90)).toBe(42);
  });

  it('is NaN for no samples and leaves the input unsorted', () => {
    expect(percentile([], 50)).toBeNaN();
    const xs = [3, 1, 2];
    percentile(xs, 50);
    expect(xs).toEqual([3, 1, 2]);
  });
});

describe('bench/compare tables', () => {
  it('aligns columns under a rule', () => {
    expect(renderTable(['op', 'a'], [['x', '1.0'], ['longer', '22.5']])).toBe(
      'op     |    a\n-------|-----\nx      |  1.0\nlonger | 22.5',
    );
  });

  it('puts p50, p90 and the p50 ratio of keelson to containerd on one row per op', () => {
    const table = latencyTable([{ op: 'RunPodSandbox', samples: { keelson: [10, 20, 30, 40], containerd: [40, 80, 120, 160] } }]);
    const row = table.split('\n')[2]?.split('|').map((c) => c.trim());
    expect(row).toEqual(['RunPodSandbox', '20.0', '40.0', '80.0', '160', '0.25x']);
  });

  it('shows a dash where one runtime has no sample', () => {
    const table = latencyTable([{ op: 'PullImage', samples: { keelson: [5], containerd: [] } }]);
    expect(table.split('\n')[2]?.split('|').map((c) => c.trim())).toEqual(['PullImage', '5.0', '5.0', '-', '-', '-']);
  });

  it('sets the two runtimes side by side per pod count in MiB', () => {
    const table = memoryTable([
      { pods: 10, runtime: 'containerd', processes: 31, daemonRssKb: 40960, daemonPssKb: 40000, totalRssKb: 102400, totalPssKb: 81920 },
      { pods: 10, runtime: 'keelson', processes: 21, daemonRssKb: 81920, daemonPssKb: 80000, totalRssKb: 92160, totalPssKb: 40960 },
    ]);
    const row = table.split('\n')[2]?.split('|').map((c) => c.trim());
    expect(row).toEqual(['10', '21', '80.0', '90.0', '40.0', '31', '40.0', '100.0', '80.0', '0.50x']);
  });
});

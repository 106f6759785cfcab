// RunPodSandbox and Stop+Remove through the CRI socket, beside the floor measured in the same
// run: the same CNI chain invoked by hand (plugin binaries, prevResult chaining) on a
// namespace made with `ip netns add`. Prints p50/p90 and the ratio to the floor.
//
//   bench/run.sh sandbox [iterations]
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { makeTestNetwork, writeNetworkConfig } from '../test/fixtures/cni.js';
import { startKeelson } from '../test/fixtures/daemon.js';
import { podConfig, unmountAllUnder } from '../test/fixtures/sandbox.js';

const iterations = Number(process.argv[2] ?? 30);
const BIN = '/usr/lib/cni';

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function plugin(type: string, command: string, stdin: object, containerId: string, netns: string): string {
  const r = spawnSync(`${BIN}/${type}`, [], {
    input: JSON.stringify(stdin),
    env: { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: BIN, PATH: process.env.PATH },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${type} ${command}: ${r.stdout} ${r.stderr}`);
  return r.stdout;
}

async function main(): Promise<void> {
  const daemon = await startKeelson({ configToml: '' });
  const net = makeTestNetwork(daemon.base);
  await writeNetworkConfig(daemon.cniConfDir, net);
  const conf = net.conflist as { cniVersion: string; name: string; plugins: Array<Record<string, unknown> & { type: string }> };
  const floorAdd: number[] = [];
  const floorDel: number[] = [];
  const run: number[] = [];
  const stopRemove: number[] = [];
  try {
    // Warm-up: the bridge is created by the first ADD; keep it out of both series.
    const warm = await daemon.client.runtime.call('RunPodSandbox', { config: podConfig() });
    await daemon.client.runtime.call('StopPodSandbox', { pod_sandbox_id: warm.pod_sandbox_id ?? '' });
    await daemon.client.runtime.call('RemovePodSandbox', { pod_sandbox_id: warm.pod_sandbox_id ?? '' });

    for (let i = 0; i < iterations; i++) {
      // Floor: netns + the chain by hand.
      const name = `kbench-${randomBytes(4).toString('hex')}`;
      const id = randomBytes(32).toString('hex');
      const netns = `/run/netns/${name}`;
      let t = performance.now();
      execFileSync('ip', ['netns', 'add', name]);
      let prev: unknown = null;
      for (const p of conf.plugins) {
        const stdin = { ...p, cniVersion: conf.cniVersion, name: conf.name, ...(prev ? { prevResult: prev } : {}) };
        prev = JSON.parse(plugin(p.type, 'ADD', stdin, id, netns));
      }
      floorAdd.push(performance.now() - t);
      t = performance.now();
      for (const p of [...conf.plugins].reverse()) {
        plugin(p.type, 'DEL', { ...p, cniVersion: conf.cniVersion, name: conf.name, prevResult: prev }, id, netns);
      }
      execFileSync('ip', ['netns', 'del', name]);
      floorDel.push(performance.now() - t);

      // keelson through the socket.
      t = performance.now();
      const r = await daemon.client.runtime.call('RunPodSandbox', { config: podConfig() });
      run.push(performance.now() - t);
      t = performance.now();
      await daemon.client.runtime.call('StopPodSandbox', { pod_sandbox_id: r.pod_sandbox_id ?? '' });
      await daemon.client.runtime.call('RemovePodSandbox', { pod_sandbox_id: r.pod_sandbox_id ?? '' });
      stopRemove.push(performance.now() - t);
    }
  } finally {
    await daemon.stop();
    unmountAllUnder(daemon.base);
    await daemon.destroy();
    net.cleanup();
  }
  const row = (label: string, xs: number[], floor: number[]): string =>
    `${label.padEnd(24)} p50 ${pct(xs, 50).toFixed(1).padStart(7)} ms  p90 ${pct(xs, 90).toFixed(1).padStart(7)} ms` +
    `   floor p50 ${pct(floor, 50).toFixed(1).padStart(7)} ms  p90 ${pct(floor, 90).toFixed(1).padStart(7)} ms` +
    `   ratio p50 ${(pct(xs, 50) / pct(floor, 50)).toFixed(2)}x  p90 ${(pct(xs, 90) / pct(floor, 90)).toFixed(2)}x`;
  console.log(`bench/sandbox: ${iterations} iterations, chain ${conf.plugins.map((p) => p.type).join(' -> ')}`);
  console.log(row('RunPodSandbox', run, floorAdd));
  console.log(row('Stop+RemovePodSandbox', stopRemove, floorDel));
}

await main();

// Streaming speed and leaks. Run on demand (as root):
//   bench/run.sh stream [runs] [failing-tty-execs]
// Through a real daemon and pod: exec round trip (`true` over WebSocket v5, URL included)
// beside the floor of `runc exec` run by hand on the same container; a 50 MB port-forward
// download beside the floor of the same nsenter + busybox nc relay read directly; then the
// daemon's RSS and open fds before and after many failing TTY execs (CVE-2022-23471).
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTestNetwork, writeNetworkConfig } from '../test/fixtures/cni.js';
import { startKeelson } from '../test/fixtures/daemon.js';
import { buildImage } from '../test/fixtures/image-builder.js';
import { startRegistry } from '../test/fixtures/registry.js';
import { podConfig, unmountAllUnder } from '../test/fixtures/sandbox.js';
import { openWebSocket, sendChannel, wsExec } from '../test/fixtures/stream-clients.js';

const run = promisify(execFile);
const RUNS = Number(process.argv[2] ?? 30);
const FAILING = Number(process.argv[3] ?? 1000);
const BIG = 50 * 1024 * 1024;

function p50(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
}

async function procStats(pid: number): Promise<{ rssKb: number; fds: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return { rssKb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0), fds: (await readdir(`/proc/${pid}/fd`)).length };
}

async function main(): Promise<void> {
  const registry = await startRegistry();
  const daemon = await startKeelson();
  const net = makeTestNetwork(daemon.base);
  try {
    await writeNetworkConfig(daemon.cniConfDir, net);
    const repo = `bench/stream-${randomBytes(3).toString('hex')}`;
    await registry.push(repo, await buildImage({ config: { Env: ['PATH=/bin'], Cmd: ['sh'] } }), 'v1');
    const image = `${registry.host}/${repo}:v1`;
    await daemon.client.image.call('PullImage', { image: { image } });
    const config = podConfig({ log_directory: join(daemon.base, 'logs') });
    const podId = (await daemon.client.runtime.call('RunPodSandbox', { config })).pod_sandbox_id ?? '';
    const { container_id: id = '' } = await daemon.client.runtime.call('CreateContainer', {
      pod_sandbox_id: podId, sandbox_config: config,
      config: { metadata: { name: 'b', attempt: 0 }, image: { image }, log_path: 'b.log',
        command: ['sh', '-c', `head -c ${BIG} /dev/zero > /big && exec httpd -f -p 8080 -h /`] },
    });
    await daemon.client.runtime.call('StartContainer', { container_id: id ?? '' });
    await new Promise((r) => setTimeout(r, 1500));
    const runcRoot = join(daemon.state, 'runtimes', 'runc');
    const netns = (await run('sh', ['-c', `ls ${daemon.state}/sandboxes/${podId}/ns/net`])).stdout.trim();

    const ours: number[] = [], floor: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      let t = performance.now();
      const { url } = await daemon.client.runtime.call('Exec', { container_id: id, cmd: ['true'], stdout: true });
      await wsExec(url ?? '', 'v5.channel.k8s.io');
      ours.push(performance.now() - t);
      t = performance.now();
      await run('runc', ['--root', runcRoot, 'exec', id ?? '', 'true']);
      floor.push(performance.now() - t);
    }
    console.log(`exec round trip: p50 ${p50(ours).toFixed(1)} ms vs runc exec floor ${p50(floor).toFixed(1)} ms = x${(p50(ours) / p50(floor)).toFixed(2)}`);

    const pfOurs: number[] = [], pfFloor: number[] = [];
    for (let i = 0; i < 3; i++) {
      let t = performance.now();
      const { url } = await daemon.client.runtime.call('PortForward', { pod_sandbox_id: podId, port: [8080] });
      let bytes = 0;
      const ws = await openWebSocket(url ?? '', ['v4.channel.k8s.io'], (d) => { if (d[0] === 0) bytes += d.length - 1; });
      sendChannel(ws, 0, 'GET /big HTTP/1.0\r\n\r\n');
      await new Promise((r) => ws.on('close', r));
      pfOurs.push(performance.now() - t);
      t = performance.now();
      const child = spawn('nsenter', [`--net=${netns}`, '--', 'busybox', 'nc', '127.0.0.1', '8080']);
      let direct = 0;
      child.stdout.on('data', (d: Buffer) => { direct += d.length; });
      child.stdin.write('GET /big HTTP/1.0\r\n\r\n');
      await new Promise((r) => child.on('close', r));
      pfFloor.push(performance.now() - t);
      if (bytes < BIG || direct < BIG) throw new Error(`short transfer: ${bytes} / ${direct}`);
    }
    console.log(`port-forward 50 MB: p50 ${p50(pfOurs).toFixed(0)} ms vs relay floor ${p50(pfFloor).toFixed(0)} ms = x${(p50(pfOurs) / p50(pfFloor)).toFixed(2)}`);

    const pid = daemon.process.pid ?? 0;
    const before = await procStats(pid);
    for (let i = 0; i < FAILING; i++) {
      const { url } = await daemon.client.runtime.call('Exec', { container_id: id, cmd: ['/no/such'], tty: true, stdin: true, stdout: true });
      await wsExec(url ?? '', 'v5.channel.k8s.io');
    }
    await new Promise((r) => setTimeout(r, 2000));
    const after = await procStats(pid);
    console.log(`${FAILING} failing TTY execs: daemon RSS ${before.rssKb} -> ${after.rssKb} KiB (x${(after.rssKb / before.rssKb).toFixed(2)}), fds ${before.fds} -> ${after.fds}`);
    await daemon.client.runtime.call('StopPodSandbox', { pod_sandbox_id: podId });
    await daemon.client.runtime.call('RemovePodSandbox', { pod_sandbox_id: podId });
  } finally {
    await daemon.stop();
    unmountAllUnder(daemon.base);
    await daemon.destroy();
    net.cleanup();
    await registry.stop();
  }
}

main().catch((err: unknown) => { console.error(err); process.exit(1); });

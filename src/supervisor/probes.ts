// One probe attempt, as kubelet runs them: exec in the container, HTTP GET or TCP connect to the
// pod IP. Success is exit code 0, HTTP 200-399, or an accepted connection, within timeoutSeconds.
import { request } from 'node:http';
import { connect } from 'node:net';
import type { ContainerSpec, Probe } from '../kube/pod-types.js';

export interface ProbeTarget {
  containerId: string;
  /** Where httpGet and tcpSocket go when the probe names no host. */
  podIp: string;
  container: ContainerSpec;
  execSync(id: string, cmd: string[], timeoutSec: number): Promise<{ exitCode: number; stdout: Buffer; stderr: Buffer }>;
}

export interface ProbeOutcome {
  ok: boolean;
  message: string;
}

function portOf(port: number | string, c: ContainerSpec): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = c.ports?.find((p) => p.name === port);
  if (!named) throw new Error(`no container port named "${port}"`);
  return named.containerPort;
}

function httpProbe(host: string, port: number, path: string, headers: Record<string, string>, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, method: 'GET', headers: { 'User-Agent': 'keelson-probe', ...headers }, timeout: timeoutMs }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve({ ok: code >= 200 && code < 400, message: `HTTP ${code}` });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ ok: false, message: err.message }));
    req.end();
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ ok: true, message: `connected to ${host}:${port}` });
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve({ ok: false, message: `no connection to ${host}:${port} within ${timeoutMs} ms` });
    });
    socket.once('error', (err) => resolve({ ok: false, message: err.message }));
  });
}

export async function runProbe(probe: Probe, target: ProbeTarget): Promise<ProbeOutcome> {
  const timeoutSec = probe.timeoutSeconds ?? 1;
  try {
    if (probe.exec) {
      const r = await target.execSync(target.containerId, probe.exec.command ?? [], timeoutSec);
      const out = Buffer.concat([r.stdout, r.stderr]).toString('utf8').slice(0, 200).trim();
      return { ok: r.exitCode === 0, message: `exit code ${r.exitCode}${out ? `: ${out}` : ''}` };
    }
    if (probe.httpGet) {
      const g = probe.httpGet;
      if (g.scheme === 'HTTPS') return { ok: false, message: 'httpGet scheme HTTPS is not supported' };
      const headers = Object.fromEntries((g.httpHeaders ?? []).map((h) => [h.name, h.value]));
      return await httpProbe(g.host ?? target.podIp, portOf(g.port, target.container), g.path ?? '/', headers, timeoutSec * 1000);
    }
    if (probe.tcpSocket) {
      return await tcpProbe(probe.tcpSocket.host ?? target.podIp, portOf(probe.tcpSocket.port, target.container), timeoutSec * 1000);
    }
    return { ok: false, message: 'the probe has no exec, httpGet or tcpSocket' };
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}

// `keelson port-forward POD LOCAL:REMOTE`: CRI PortForward, one SPDY/3.1 session
// (portforward.k8s.io) to the streaming server, and a listener on 127.0.0.1:LOCAL whose every
// connection becomes an error+data stream pair with its own requestID, as kubectl does.
import { request } from 'node:http';
import { createServer, type Socket } from 'node:net';
import type { Command } from 'commander';
import type { CriClient } from '../client/cri.js';
import { SpdyConnection, type SpdyStream } from '../stream/spdy/connection.js';
import { namespaceOption, socketOption } from './client-options.js';
import { findPod } from './lookup.js';

type WithClient = <T extends { socket: string }>(run: (client: CriClient, opts: T) => Promise<void>) => (opts: T) => Promise<void>;

export function parsePortPair(text: string): { local: number; remote: number } {
  const m = /^(?:(\d{1,5})?:)?(\d{1,5})$/.exec(text);
  const remote = Number(m?.[2]);
  const local = m?.[1] !== undefined ? Number(m[1]) : remote;
  if (!m || !(remote >= 1 && remote <= 65535) || !(local >= 0 && local <= 65535)) throw new Error(`"${text}" is not LOCAL:REMOTE with ports in 1-65535`);
  return { local, remote };
}

export function registerPortForwardCommand(program: Command, withClient: WithClient): void {
  program
    .command('port-forward')
    .description('forward a local port to a port inside a pod\'s network namespace')
    .argument('<pod>', 'pod name, id or unique id prefix')
    .argument('<ports>', 'LOCAL:REMOTE (LOCAL 0: any free port)')
    .addOption(socketOption())
    .addOption(namespaceOption('look the pod up in this namespace'))
    .action((pod: string, ports: string, opts: { socket: string; namespace?: string }) =>
      withClient<{ socket: string; namespace?: string }>(async (client, o) => {
        const { local, remote } = parsePortPair(ports);
        const id = (await findPod(client, pod, { namespace: o.namespace })).id ?? '';
        const { url } = await client.runtime.call('PortForward', { pod_sandbox_id: id, port: [remote] });
        const session = await spdyConnect(url ?? '');
        await serveLocal(session, local, remote);
      })(opts));
}

function spdyConnect(url: string): Promise<SpdyConnection> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'portforward.k8s.io' } });
    req.on('upgrade', (_res, socket, head) => {
      if (head.length > 0) socket.unshift(head);
      resolve(new SpdyConnection(socket, 'client'));
    });
    req.on('response', (res) => reject(new Error(`the streaming server answered HTTP ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}

async function serveLocal(session: SpdyConnection, local: number, remote: number): Promise<void> {
  let nextRequest = 0;
  const server = createServer((socket: Socket) => {
    const headers = (type: string): Record<string, string[]> => ({ streamtype: [type], port: [String(remote)], requestid: [String(nextRequest)] });
    const error: SpdyStream = session.openStream(headers('error'), true);
    const data: SpdyStream = session.openStream(headers('data'));
    nextRequest++;
    error.on('data', (d: Buffer) => process.stderr.write(`keelson: ${d.toString()}\n`));
    socket.on('data', (d: Buffer) => data.write(d));
    socket.on('end', () => data.end());
    socket.on('error', () => data.resetStream());
    data.on('data', (d: Buffer) => socket.write(d));
    data.on('end', () => socket.end());
    data.on('close', () => socket.end());
  });
  await new Promise<void>((resolve) => server.listen(local, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  console.log(`Forwarding from 127.0.0.1:${port} -> ${remote}`);
  await new Promise<void>((resolve) => {
    session.once('close', () => resolve());
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  server.close();
  session.close();
}

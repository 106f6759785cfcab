// `keelson exec [-i] [-t] CONTAINER -- CMD...` and `keelson attach [-i] CONTAINER`: CRI Exec
// or Attach, then the URL spoken as a v5.channel.k8s.io WebSocket client (as kubectl does):
// raw terminal and SIGWINCH resizes with a terminal, stdin EOF sent as the v5 CLOSE of channel 0.
import type { Command } from 'commander';
import { WebSocket } from 'ws';
import type { CriClient } from '../client/cri.js';
import { namespaceOption, socketOption } from './client-options.js';
import { findTarget } from './lookup.js';
import { decodeChannelFrame, encodeChannelFrame } from '../stream/ws-channel.js';

type WithClient = <T extends { socket: string }>(run: (client: CriClient, opts: T) => Promise<void>) => (opts: T) => Promise<void>;
interface ExecOpts { socket: string; namespace?: string; container?: string; stdin?: boolean; tty?: boolean }

export function registerExecCommand(program: Command, withClient: WithClient): void {
  program
    .command('exec')
    .description('run a command in a running container')
    .argument('<ref>', 'pod (its default container, or -c), pod/container, container name or id prefix')
    .argument('<cmd...>', 'the command (after --)')
    .addOption(namespaceOption('look the pod up in this namespace'))
    .option('-c, --container <name>', 'the container of the pod')
    .option('-i, --stdin', 'pass stdin to the command')
    .option('-t, --tty', 'allocate a terminal')
    .addOption(socketOption())
    .action((container: string, cmd: string[], opts: ExecOpts) =>
      withClient<ExecOpts>(async (client, o) => {
        const id = (await findTarget(client, container, { namespace: o.namespace, container: o.container })).container.id ?? '';
        const tty = o.tty === true;
        const { url } = await client.runtime.call('Exec', {
          container_id: id, cmd, tty, stdin: o.stdin === true, stdout: true, stderr: !tty,
        });
        process.exitCode = await runSession(url ?? '', o.stdin === true, tty);
      })(opts));
}

interface AttachOpts { socket: string; namespace?: string; container?: string; stdin?: boolean }

export function registerAttachCommand(program: Command, withClient: WithClient): void {
  program
    .command('attach')
    .description('attach to the main process of a running container (its terminal when it has one)')
    .argument('<ref>', 'pod (its default container, or -c), pod/container, container name or id prefix')
    .addOption(namespaceOption('look the pod up in this namespace'))
    .option('-c, --container <name>', 'the container of the pod')
    .option('-i, --stdin', 'pass stdin to the process (the container must have been created with stdin)')
    .addOption(socketOption())
    .action((container: string, opts: AttachOpts) =>
      withClient<AttachOpts>(async (client, o) => {
        const id = (await findTarget(client, container, { namespace: o.namespace, container: o.container })).container.id ?? '';
        const status = await client.runtime.call('ContainerStatus', { container_id: id, verbose: true });
        // The server attaches with the container's own tty setting; the client needs it for raw mode.
        const tty = (JSON.parse(status.info?.info ?? '{}') as { config?: { tty?: boolean } }).config?.tty === true;
        const { url } = await client.runtime.call('Attach', { container_id: id, stdin: o.stdin === true, stdout: true, stderr: !tty, tty });
        process.exitCode = await runSession(url ?? '', o.stdin === true, tty);
      })(opts));
}

async function runSession(url: string, stdin: boolean, tty: boolean): Promise<number> {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), ['v5.channel.k8s.io']);
  const send = (channel: number, data: Buffer | string): void => {
    if (ws.readyState === ws.OPEN) ws.send(encodeChannelFrame(channel, Buffer.from(data), false));
  };
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`the streaming server answered HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
  const rawTerminal = tty && stdin && process.stdin.isTTY === true;
  const sendSize = (): void => {
    if (process.stdout.columns) send(4, JSON.stringify({ Width: process.stdout.columns, Height: process.stdout.rows }));
  };
  if (rawTerminal) {
    process.stdin.setRawMode(true);
    process.on('SIGWINCH', sendSize);
  }
  if (tty) sendSize();
  if (stdin) {
    process.stdin.on('data', (d: Buffer) => send(0, d));
    process.stdin.on('end', () => send(255, Buffer.from([0])));
  }
  let status = '';
  ws.on('message', (data: Buffer) => {
    const { channel, payload } = decodeChannelFrame(data, true, false) ?? { channel: -1, payload: data };
    if (channel === 1) process.stdout.write(payload);
    else if (channel === 2) process.stderr.write(payload);
    else if (channel === 3) status += payload.toString();
  });
  await new Promise<void>((resolve) => ws.once('close', () => resolve()));
  if (rawTerminal) process.stdin.setRawMode(false);
  process.stdin.pause();
  process.off('SIGWINCH', sendSize);
  return exitCodeOf(status);
}

/** The exit code a Status on the error channel carries: 0 on Success, the ExitCode cause, else 1. */
export function exitCodeOf(statusText: string): number {
  if (!statusText) return 1;
  try {
    const s = JSON.parse(statusText) as { status?: string; message?: string; details?: { causes?: Array<{ reason?: string; message?: string }> } };
    if (s.status === 'Success') return 0;
    const cause = s.details?.causes?.find((c) => c.reason === 'ExitCode');
    if (cause) return Number(cause.message) || 1;
    process.stderr.write(`keelson: ${s.message ?? statusText}\n`);
  } catch {
    process.stderr.write(`keelson: ${statusText}\n`);
  }
  return 1;
}

// `keelson plugins` and `keelson volume create|ls|rm|expand`: the daemon's CSI plugins and
// named volumes, through the keelson-only keelson.v1.Volumes service on the CRI socket.
import type { Command } from 'commander';
import { VolumesClient } from '../client/volumes.js';
import type { PluginView } from '../csi/registry.js';
import { InvalidArgumentError } from '../errors.js';
import { bytesOf } from '../kube/quantity.js';
import { explainClientError, socketOption } from './client-options.js';
import { humanSize } from './images.js';
import { formatTable, outputOption, printAs } from './output.js';

function withVolumes<T extends { socket: string }>(run: (client: VolumesClient, opts: T) => Promise<void>) {
  return async (opts: T): Promise<void> => {
    try {
      await run(new VolumesClient(opts.socket), opts);
    } catch (err) {
      throw new Error(explainClientError(err, opts.socket), { cause: err });
    }
  };
}

const humanBytes = (n: number): string => humanSize(n, true);

function parameters(list: string[]): Record<string, string> {
  return Object.fromEntries(list.map((p) => {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`--parameter "${p}": expected KEY=VALUE`);
    return [p.slice(0, eq), p.slice(eq + 1)];
  }));
}

const collect = (v: string, acc: string[]): string[] => [...acc, v];

/** healthy, or the state and why: `restarting: plugin process exited (...)`, `unhealthy: ...`. */
function healthColumn(p: PluginView): string {
  const state = p.state ?? (p.healthy ? 'healthy' : 'unhealthy'); // (a daemon from before `state`)
  return state === 'healthy' ? 'healthy' : `${state}${p.lastError ? `: ${p.lastError}` : ''}`.slice(0, 60);
}

export function registerVolumeCommands(program: Command): void {
  program
    .command('plugins')
    .description('list the CSI plugins the daemon knows, with their capabilities and health')
    .addOption(socketOption())
    .addOption(outputOption())
    .action(withVolumes<{ socket: string; output: string }>(async (client, o) => {
      const plugins = await client.plugins();
      printAs(o.output, plugins, () => formatTable(['NAME', 'HEALTH', 'SOURCE', 'PID', 'RESTARTS', 'NODE', 'CONTROLLER', 'ENDPOINT'], plugins.map((p) => [
        p.name,
        healthColumn(p),
        p.source,
        p.process?.pid ? String(p.process.pid) : '-',
        p.process ? String(p.process.restarts) : '-',
        p.info?.nodeCapabilities.join(',') || '-',
        p.info?.controllerCapabilities.join(',') || '-',
        p.endpoint,
      ])));
    }));

  const volume = program.command('volume').description('named CSI volumes (pods use them as persistentVolumeClaim.claimName)');
  volume
    .command('create')
    .description('provision a volume with a CSI plugin (CreateVolume)')
    .argument('<name>', 'volume name')
    .requiredOption('--driver <name>', 'the CSI plugin')
    .option('--size <quantity>', 'capacity, e.g. 1Gi', '0')
    .option('--parameter <key=value>', 'a CreateVolume parameter (repeatable)', collect, [])
    .addOption(socketOption())
    .addOption(outputOption())
    .action((name: string, flags: { driver: string; size: string; parameter: string[]; socket: string; output: string }) =>
      withVolumes<typeof flags>(async (client, o) => {
        const v = await client.create(name, o.driver, bytesOf(o.size, '--size'), parameters(o.parameter));
        printAs(o.output, v, () => `volume ${v.name} created (${v.driver}, ${v.volumeId}, ${humanBytes(v.capacityBytes)})`);
      })(flags));
  volume
    .command('ls')
    .description('list named volumes, with the pods using them and usage from NodeGetVolumeStats')
    .addOption(socketOption())
    .addOption(outputOption())
    .action(withVolumes<{ socket: string; output: string }>(async (client, o) => {
      const volumes = await client.list();
      const health = (v: (typeof volumes)[number]): string => {
        const c = v.usage?.condition;
        return !c ? '-' : c.abnormal ? `abnormal: ${c.message}`.slice(0, 60) : 'ok';
      };
      printAs(o.output, volumes, () => formatTable(['NAME', 'DRIVER', 'CAPACITY', 'USED', 'AVAILABLE', 'HEALTH', 'PODS', 'VOLUME ID'], volumes.map((v) => [
        v.name, v.driver, humanBytes(v.capacityBytes),
        v.usage ? humanBytes(v.usage.usedBytes) : '-',
        v.usage ? humanBytes(v.usage.availableBytes) : '-',
        health(v),
        v.pods.join(', ') || '-',
        v.volumeId,
      ])));
    }));
  volume
    .command('rm')
    .description('delete volumes (DeleteVolume); refused while a pod uses them')
    .argument('<names...>', 'volume names')
    .addOption(socketOption())
    .action((names: string[], flags: { socket: string }) =>
      withVolumes<typeof flags>(async (client) => {
        for (const name of names) {
          await client.remove(name);
          console.log(name);
        }
      })(flags));
  volume
    .command('expand')
    .description('grow a volume (ControllerExpandVolume and/or NodeExpandVolume)')
    .argument('<name>', 'volume name')
    .requiredOption('--size <quantity>', 'the new capacity, e.g. 2Gi')
    .addOption(socketOption())
    .action((name: string, flags: { size: string; socket: string }) =>
      withVolumes<typeof flags>(async (client, o) => {
        const v = await client.expand(name, bytesOf(o.size, '--size'));
        console.log(`volume ${v.name} is now ${humanBytes(v.capacityBytes)}`);
      })(flags));
}

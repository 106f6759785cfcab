// `keelson pull`, `keelson images`: CRI clients of the image service, as crictl's. Pull
// progress comes through a side channel: the daemon rewrites a JSON file per pull under
// <state>/pulls/ (src/image/progress.ts) and this polls it; the state dir is the one the daemon
// reports (verbose Status), so progress shows whatever the socket's path. `keelson rmi` uses
// keelson.v1.Images (docker's rmi), not CRI RemoveImage, which drops every name of the image at once.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { status as grpcStatus } from '@grpc/grpc-js';
import { removeImage } from '../client/images.js';
import type { CriClient } from '../client/cri.js';
import type { Image } from '../cri/generated/cri-types.js';
import { progressFile, type PullProgress } from '../image/progress.js';
import { daemonDirs, socketOption } from './client-options.js';
import { camelKeys, shortId } from './output.js';

type WithClient = <T extends { socket: string }>(run: (client: CriClient, opts: T) => Promise<void>) => (opts: T) => Promise<void>;

function readProgress(file: string): PullProgress | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PullProgress;
  } catch {
    return null;
  }
}

function short(digest: string): string {
  return shortId(digest.replace(/^sha256:/, ''), 12);
}

/**
 * Sizes for people: decimal units as registries and `docker images` show them ("12.3MB"), or
 * with `binary` the Kubernetes quantity units volumes are sized in ("64Mi", "2.0Mi").
 */
export function humanSize(bytes: number, binary = false): string {
  const units = binary ? ['B', 'Ki', 'Mi', 'Gi', 'Ti'] : ['B', 'kB', 'MB', 'GB', 'TB'];
  const step = binary ? 1024 : 1000;
  let v = bytes;
  let i = 0;
  while (v >= step && i < units.length - 1) {
    v /= step;
    i++;
  }
  const decimals = binary ? (v < 10 ? 1 : 0) : (v < 10 ? 2 : 1);
  return `${i === 0 ? v : v.toFixed(decimals)}${units[i]}`;
}

/** Pull progress sizes: MiB with one decimal, for every layer, done, total and speed alike. */
export function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)}MiB`;
}

export interface PullResult {
  imageRef: string;
  /** Something was fetched (a layer downloaded, or the name now points at another image), as docker's "Downloaded newer image". */
  fetched: boolean;
}

/** The line docker pull ends with, true to what the pull did. */
export function pullStatusLine(image: string, r: PullResult): string {
  return r.fetched ? `Downloaded newer image for ${image}` : `Image is up to date for ${image}`;
}

export interface PullOptions {
  /** The daemon's state dir; asked of the daemon when not given. */
  stateDir?: string | undefined;
  quiet: boolean;
}

export async function pullWithProgress(client: CriClient, image: string, opts: PullOptions): Promise<PullResult> {
  const { quiet } = opts;
  const stateDir = opts.stateDir ?? (await daemonDirs(client)).state;
  const file = progressFile(join(stateDir, 'pulls'), image);
  // What the name pointed at before: a pull that leaves it there fetched nothing new.
  const before = (await client.image.call('ImageStatus', { image: { image } })).image?.id ?? '';
  const tty = process.stdout.isTTY === true && !quiet;
  const multi = tty
    ? new cliProgress.MultiBar({
      // Not {total}: that is cli-progress's own token (the raw byte count).
      format: '{layer} [{bar}] {percentage}% | {done}/{size} | {speed} | {state}',
      hideCursor: true, clearOnComplete: false, stopOnComplete: false,
    }, cliProgress.Presets.shades_classic)
    : undefined;
  const bars = new Map<string, cliProgress.SingleBar>();
  const started = Date.now();
  const render = (p: PullProgress): void => {
    if (!multi) return;
    const seconds = Math.max(0.001, (Date.now() - started) / 1000);
    for (const l of p.layers) {
      let bar = bars.get(l.digest);
      // A layer already present was not downloaded: no speed to show.
      const speed = l.state === 'exists' ? '-' : `${mib(l.done / seconds)}/s`;
      const payload = { layer: short(l.digest), done: mib(l.done), size: mib(l.size), speed, state: l.state };
      if (!bar) {
        bar = multi.create(Math.max(1, l.size), l.done, payload);
        bars.set(l.digest, bar);
      }
      bar.update(l.done, payload);
    }
  };
  const timer = setInterval(() => {
    const p = readProgress(file);
    if (p) render(p);
  }, 150);
  try {
    const res = await client.image.call('PullImage', { image: { image } }, { timeoutMs: 3_600_000 });
    const last = readProgress(file);
    if (last) render(last);
    multi?.stop();
    if (!tty && !quiet && last) {
      for (const l of last.layers) console.log(`${short(l.digest)}: ${l.state} (${mib(l.size)})`);
    }
    const imageRef = res.image_ref ?? '';
    const downloaded = last?.layers.some((l) => l.state !== 'exists') ?? false;
    return { imageRef, fetched: downloaded || before !== imageRef };
  } finally {
    clearInterval(timer);
    multi?.stop();
  }
}

function tagParts(name: string): { repo: string; tag: string } {
  const i = name.lastIndexOf(':');
  return i > name.lastIndexOf('/') ? { repo: name.slice(0, i), tag: name.slice(i + 1) } : { repo: name, tag: '<none>' };
}

export function formatImages(images: Image[]): string {
  const rows: string[][] = [['IMAGE', 'TAG', 'DIGEST', 'IMAGE ID', 'SIZE']];
  for (const img of images) {
    const digest = short((img.repo_digests?.[0] ?? '').split('@')[1] ?? '');
    const id = short(img.id ?? '');
    const size = humanSize(Number(img.size ?? 0));
    const tags = img.repo_tags ?? [];
    if (tags.length === 0) {
      const repo = (img.repo_digests?.[0] ?? '<none>').split('@')[0] ?? '<none>';
      rows.push([repo, '<none>', digest, id, size]);
    }
    for (const t of tags) {
      const { repo, tag } = tagParts(t);
      rows.push([repo, tag, digest, id, size]);
    }
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('   ').trimEnd()).join('\n');
}

/** Adds pull, images and rmi to the program. */
export function registerImageCommands(program: Command, withClient: WithClient): void {
  program
    .command('pull')
    .description('pull an image (progress per layer when on a terminal)')
    .argument('<image>', 'image reference, e.g. busybox or registry:5000/app:v1')
    .addOption(socketOption())
    .addOption(new Option('--state <dir>', 'deprecated: the daemon\'s state dir (asked of the daemon)').hideHelp())
    .option('-q, --quiet', 'print only the image id')
    .action((image: string, opts: { socket: string; state?: string; quiet?: boolean }) =>
      withClient<{ socket: string; state?: string; quiet?: boolean }>(async (client, o) => {
        const r = await pullWithProgress(client, image, { stateDir: o.state, quiet: o.quiet === true });
        console.log(o.quiet ? r.imageRef : `${pullStatusLine(image, r)}\n${r.imageRef}`);
      })(opts));

  program
    .command('images')
    .description('list images')
    .argument('[image]', 'show only this image (name, digest or id)')
    .addOption(socketOption())
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('-q, --quiet', 'print only image ids')
    .action((image: string | undefined, opts: { socket: string; output: string; quiet?: boolean }) =>
      withClient<{ socket: string; output: string; quiet?: boolean }>(async (client, o) => {
        const res = await client.image.call('ListImages', image ? { filter: { image: { image } } } : {});
        const images = res.images ?? [];
        if (o.quiet) console.log(images.map((i) => i.id).join('\n'));
        else if (o.output === 'json') console.log(JSON.stringify(camelKeys(images), null, 2));
        else console.log(formatImages(images));
      })(opts));

  program
    .command('rmi')
    .description('remove images as docker rmi does: a tag untags that name, an id removes the image')
    .argument('<images...>', 'images to remove (name, digest or id)')
    .option('-f, --force', 'remove an image containers use (they keep running), or an id with several names')
    .addOption(socketOption())
    .action((refs: string[], opts: { socket: string; force?: boolean }) =>
      withClient<{ socket: string; force?: boolean }>(async (_client, o) => {
        // Each reference on its own, as docker: one failure does not stop the others.
        const failures: string[] = [];
        for (const ref of refs) {
          try {
            const r = await removeImage(o.socket, ref, o.force === true);
            for (const name of r.untagged) console.log(`Untagged: ${name}`);
            for (const id of r.deleted) console.log(`Deleted: ${id}`);
          } catch (err) {
            const e = err as { code?: number; details?: string };
            if (e.code === grpcStatus.NOT_FOUND || e.code === grpcStatus.FAILED_PRECONDITION) failures.push(e.details ?? String(err));
            else throw err;
          }
        }
        if (failures.length > 0) throw new Error(failures.join('\n'));
      })(opts));
}

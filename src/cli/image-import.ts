// `keelson image import FILE`: streams an OCI layout (a directory or its tar) or a
// docker-archive to the daemon's keelson-only import service on the CRI socket.
import { spawn } from 'node:child_process';
import { createReadStream, statSync } from 'node:fs';
import type { Command } from 'commander';
import { importImages } from '../client/image-import.js';
import { socketOption } from './client-options.js';
import { explainClientError } from './client-options.js';

async function* tarOfDirectory(dir: string): AsyncGenerator<Buffer> {
  const tar = spawn('tar', ['-C', dir, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  tar.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => tar.once('exit', resolve));
  for await (const chunk of tar.stdout as AsyncIterable<Buffer>) yield chunk;
  const code = await exited;
  if (code !== 0) throw new Error(`tar of ${dir} failed: ${stderr.trim()}`);
}

export function registerImageImportCommand(program: Command): void {
  const image = program.commands.find((c) => c.name() === 'image') ?? program.command('image').description('image commands');
  image
    .command('import')
    .description('import images from an OCI layout (directory or tar) or a docker-archive (docker save)')
    .argument('<file>', 'archive file or OCI layout directory')
    .option('--name <repo>', 'repository for images the archive names only by tag (e.g. "latest")')
    .addOption(socketOption())
    .action(async (file: string, opts: { socket: string; name?: string }) => {
      const st = statSync(file, { throwIfNoEntry: false });
      if (!st) throw new Error(`${file} does not exist`);
      const chunks = st.isDirectory() ? tarOfDirectory(file) : (createReadStream(file) as AsyncIterable<Buffer>);
      try {
        const answer = await importImages(opts.socket, chunks, opts.name);
        for (const img of answer.images) console.log(`Imported ${img.id}${img.repoTags.length ? ` (${img.repoTags.join(', ')})` : ''}`);
      } catch (err) {
        throw new Error(explainClientError(err, opts.socket), { cause: err });
      }
    });
}

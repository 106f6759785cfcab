// Reads a manifest file, or stdin for `-`, bounded as manifests are.
import { readFileSync, statSync } from 'node:fs';
import { InvalidArgumentError } from '../errors.js';
import { MAX_MANIFEST_BYTES, parseManifests, type ParsedManifests } from '../kube/manifest.js';

export async function readManifests(file: string): Promise<ParsedManifests> {
  let text: string;
  if (file === '-') {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_MANIFEST_BYTES) throw new InvalidArgumentError(`stdin: larger than ${MAX_MANIFEST_BYTES} bytes`);
      chunks.push(chunk);
    }
    text = Buffer.concat(chunks).toString('utf8');
  } else {
    const st = statSync(file, { throwIfNoEntry: false });
    if (!st) throw new InvalidArgumentError(`${file} does not exist`);
    if (st.size > MAX_MANIFEST_BYTES) throw new InvalidArgumentError(`${file}: larger than ${MAX_MANIFEST_BYTES} bytes`);
    text = readFileSync(file, 'utf8');
  }
  return parseManifests(text, file === '-' ? 'stdin' : file);
}

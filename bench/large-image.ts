// The generated ~300 MB, 5-layer image bench/pull and bench/compare pull: incompressible
// files, compressible text from a random vocabulary (like logs or sources), and many small
// files, so a pull exercises download, gunzip and file creation alike.
import { randomBytes } from 'node:crypto';
import { buildImage, buildLayer, type BuiltImage, type LayerEntry } from '../test/fixtures/image-builder.js';

const MB = 1024 * 1024;

function randomFiles(prefix: string, count: number, size: number): LayerEntry[] {
  return [{ type: 'dir', path: `${prefix}/` }, ...Array.from({ length: count }, (_, i): LayerEntry => ({ type: 'file', path: `${prefix}/f${i}`, content: randomBytes(size) }))];
}

function textFiles(prefix: string, count: number, size: number): LayerEntry[] {
  const words = Array.from({ length: 4096 }, () => randomBytes(3 + Math.floor(Math.random() * 6)).toString('hex'));
  const make = (): Buffer => {
    const parts: string[] = [];
    let n = 0;
    while (n < size) {
      const w = words[Math.floor(Math.random() * words.length)] as string;
      parts.push(w);
      n += w.length + 1;
    }
    return Buffer.from(parts.join(' ').slice(0, size));
  };
  return [{ type: 'dir', path: `${prefix}/` }, ...Array.from({ length: count }, (_, i): LayerEntry => ({ type: 'file', path: `${prefix}/t${i}.txt`, content: make() }))];
}

function smallFiles(prefix: string, dirs: number, perDir: number, size: number): LayerEntry[] {
  const out: LayerEntry[] = [{ type: 'dir', path: `${prefix}/` }];
  for (let d = 0; d < dirs; d++) {
    out.push({ type: 'dir', path: `${prefix}/d${d}/` });
    for (let f = 0; f < perDir; f++) out.push({ type: 'file', path: `${prefix}/d${d}/s${f}`, content: randomBytes(size / 2).toString('hex') });
  }
  return out;
}

export async function generateLargeImage(): Promise<BuiltImage> {
  const layers = [
    await buildLayer(randomFiles('random-a', 10, 10 * MB)),
    await buildLayer(textFiles('text', 40, 2 * MB)),
    await buildLayer(smallFiles('small', 200, 100, 2048)),
    await buildLayer([...randomFiles('random-b', 4, 10 * MB), ...textFiles('mixed', 20, 2 * MB)]),
    await buildLayer(randomFiles('random-c', 3, 10 * MB)),
  ];
  return buildImage({ base: false, layers });
}

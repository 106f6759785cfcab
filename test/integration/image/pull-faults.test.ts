// Faults in transit: a blob altered by a proxy, a daemon killed half way through a slow
// pull, two pulls of one image at once, and layers whose tar is cut short.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { buildImage, buildLayer, layerFromTar, tarEntries } from '../../fixtures/image-builder.js';
import { startRegistry, type Registry } from '../../fixtures/registry.js';
import { startProxy, type Proxy } from '../../fixtures/tampering-proxy.js';
import { listImageStore } from '../../fixtures/tree.js';

let registry: Registry;
let daemon: KeelsonDaemon | undefined;
let proxy: Proxy | undefined;
const suffix = randomBytes(3).toString('hex');

beforeAll(async () => {
  registry = await startRegistry();
});

afterEach(async () => {
  await daemon?.destroy();
  daemon = undefined;
  await proxy?.stop();
  proxy = undefined;
});

afterAll(async () => {
  await registry?.stop();
});

async function storeState(d: KeelsonDaemon): Promise<unknown> {
  return listImageStore(d.root);
}

describe('pull faults', () => {
  it('fails with a digest error when a blob is altered in transit, and leaves nothing behind', async () => {
    const small = await buildLayer([{ type: 'file', path: 'ok', content: 'fine' }]);
    const target = await buildLayer([{ type: 'file', path: 'data', content: randomBytes(256 * 1024) }]);
    const image = await buildImage({ base: false, layers: [small, target] });
    await registry.push(`faults/tamper-${suffix}`, image, 'v1');
    proxy = await startProxy(registry.url, { tamper: [target.digest] });
    daemon = await startKeelson();
    const before = await storeState(daemon);
    const pull = daemon.client.image.call('PullImage', { image: { image: `${proxy.host}/faults/tamper-${suffix}:v1` } });
    await expect(pull).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: expect.stringMatching(new RegExp(`layer ${target.digest} .*digest mismatch`)),
    });
    expect(proxy.servedBytes(target.digest)).toBeGreaterThanOrEqual(target.size);
    expect(await storeState(daemon)).toEqual(before);
    const list = await daemon.client.image.call('ListImages', {});
    expect(list.images ?? []).toHaveLength(0);
  });

  it('resumes a pull killed half way without downloading finished bytes again', async () => {
    const small = await buildLayer([{ type: 'file', path: 'small', content: 'small' }]);
    const big = await buildLayer([{ type: 'file', path: 'big', content: randomBytes(6 * 1024 * 1024) }]);
    const image = await buildImage({ base: false, layers: [small, big] });
    await registry.push(`faults/resume-${suffix}`, image, 'v1');
    proxy = await startProxy(registry.url, { throttle: { digests: [big.digest], bytesPerSecond: 3 * 1024 * 1024 } });
    daemon = await startKeelson();
    const ref = `${proxy.host}/faults/resume-${suffix}:v1`;
    const first = daemon.client.image.call('PullImage', { image: { image: ref } });
    first.catch(() => undefined);
    const ingest = join(daemon.root, 'content', 'ingest', big.digest.slice(7));
    const deadline = Date.now() + 20_000;
    while (!(existsSync(ingest) && statSync(ingest).size > 2 * 1024 * 1024)) {
      if (Date.now() > deadline) throw new Error('the big blob never got half way');
      await new Promise((r) => setTimeout(r, 50));
    }
    await daemon.kill();
    const partial = statSync(ingest).size;
    expect(partial).toBeLessThan(big.size);
    const smallServed = proxy.servedBytes(small.digest);
    expect(smallServed).toBe(small.size);
    const bigRequestsBefore = proxy.gets(big.digest).length;

    daemon = await startKeelson({ base: daemon.base });
    // A restart removes unfinished unpack dirs but keeps the partial download.
    expect(readdirSync(join(daemon.root, 'snapshots')).filter((n) => n.startsWith('tmp-'))).toEqual([]);
    const res = await daemon.client.image.call('PullImage', { image: { image: ref } });
    expect(res.image_ref).toBe(image.config.digest);
    const resumed = proxy.gets(big.digest).slice(bigRequestsBefore);
    expect(resumed).toHaveLength(1);
    expect(resumed[0]?.range).toBe(`bytes=${partial}-`);
    expect(resumed[0]?.bytes).toBe(big.size - partial);
    // The finished small layer was not fetched again.
    expect(proxy.servedBytes(small.digest)).toBe(smallServed);
    expect(existsSync(ingest)).toBe(false);
    expect(existsSync(join(daemon.root, 'content', 'blobs', 'sha256', big.digest.slice(7)))).toBe(true);
  });

  it('downloads each blob once when two pulls of one image run at once', async () => {
    const layers = await Promise.all([1, 2, 3].map((i) => buildLayer([{ type: 'file', path: `f${i}`, content: randomBytes(512 * 1024) }])));
    const image = await buildImage({ base: false, layers });
    await registry.push(`faults/twice-${suffix}`, image, 'v1');
    proxy = await startProxy(registry.url, { throttle: { digests: layers.map((l) => l.digest), bytesPerSecond: 4 * 1024 * 1024 } });
    daemon = await startKeelson();
    const ref = `${proxy.host}/faults/twice-${suffix}:v1`;
    const [a, b] = await Promise.all([
      daemon.client.image.call('PullImage', { image: { image: ref } }),
      daemon.client.image.call('PullImage', { image: { image: ref } }),
    ]);
    expect(a.image_ref).toBe(image.config.digest);
    expect(b.image_ref).toBe(image.config.digest);
    for (const blob of [...layers, image.config]) {
      expect(proxy.gets(blob.digest), blob.digest).toHaveLength(1);
      expect(proxy.servedBytes(blob.digest)).toBe(blob.size);
    }
  });
});

describe('a layer whose tar is cut short', () => {
  // The blob and diff digests are those of the cut bytes, so nothing but the tar framing is
  // wrong: the pull must say where the archive stopped, not pass a half layer off as whole.
  const cases = [
    { where: 'inside an entry\'s data', cutAt: 512 + 1000, message: 'the archive ends inside the data of "f" (1000 of 4096 bytes)' },
    { where: 'inside a header', cutAt: 512 + 4096 + 200, message: 'the archive ends inside a tar header (200 of 512 bytes)' },
  ];
  for (const { where, cutAt, message } of cases) {
    it(`is refused when it stops ${where}, leaving no snapshot`, async () => {
      const whole = await tarEntries([
        { type: 'file', path: 'f', content: randomBytes(4096) },
        { type: 'file', path: 'g', content: 'after f' },
      ]);
      const cut = layerFromTar(whole.subarray(0, cutAt));
      // A big whole layer below, still unpacking when the cut one fails: the pull must not
      // answer before it settles, or it is committed after the pull's cleanup and stays.
      const base = await buildLayer([{ type: 'file', path: 'base', content: randomBytes(32 * 1024 * 1024) }]);
      const image = await buildImage({ base: false, layers: [base, cut] });
      const repo = `faults/cut-${cutAt}-${suffix}`;
      await registry.push(repo, image, 'v1');
      daemon = await startKeelson();
      const before = await storeState(daemon);
      const err = await daemon.client.image.call('PullImage', { image: { image: `${registry.host}/${repo}:v1` } })
        .catch((e: unknown) => e) as { code: number; details: string };
      expect(err.code).toBe(status.FAILED_PRECONDITION);
      expect(err.details).toContain(`layer ${cut.digest} of ${registry.host}/${repo}:v1`);
      expect(err.details).toContain(message);
      expect(err.details).not.toContain('digest mismatch');
      // Neither the cut layer nor the whole one below it stays (not even as an unpack temp
      // dir), nor any blob.
      expect(await storeState(daemon)).toEqual(before);
      expect((await daemon.client.image.call('ListImages', {})).images ?? []).toHaveLength(0);
    });
  }
});

describe('start-up reconciliation', () => {
  it('removes unpack temp dirs, stale downloads and layer dirs with no record, keeping real images', async () => {
    const image = await buildImage({ base: false, layers: [[{ type: 'file', path: 'kept', content: suffix }]] });
    await registry.push(`faults/reconcile-${suffix}`, image, 'v1');
    daemon = await startKeelson();
    const ref = `${registry.host}/faults/reconcile-${suffix}:v1`;
    await daemon.client.image.call('PullImage', { image: { image: ref } });
    const before = await storeState(daemon);
    await daemon.stop();
    const { mkdirSync, writeFileSync, utimesSync } = await import('node:fs');
    const snapshots = join(daemon.root, 'snapshots');
    mkdirSync(join(snapshots, 'tmp-deadbeef', 'fs'), { recursive: true });
    mkdirSync(join(snapshots, 'a'.repeat(64), 'fs'), { recursive: true });
    const stale = join(daemon.root, 'content', 'ingest', 'b'.repeat(64));
    writeFileSync(stale, 'partial');
    utimesSync(stale, new Date(2000, 0, 1), new Date(2000, 0, 1));
    writeFileSync(join(daemon.root, 'content', 'ingest', 'import-x.tar'), 'junk');
    daemon = await startKeelson({ base: daemon.base });
    expect(await storeState(daemon)).toEqual(before);
    const st = await daemon.client.image.call('ImageStatus', { image: { image: ref } });
    expect(st.image?.id).toBe(image.config.digest);
  });
});

describe('registry trouble', () => {
  it('retries 5xx, and resumes a cut or stalled blob download with Range in the same pull', async () => {
    const cut = await buildLayer([{ type: 'file', path: 'cut', content: randomBytes(1024 * 1024) }]);
    const stalled = await buildLayer([{ type: 'file', path: 'stalled', content: randomBytes(1024 * 1024) }]);
    const image = await buildImage({ base: false, layers: [cut, stalled] });
    await registry.push(`faults/retry-${suffix}`, image, 'v1');
    proxy = await startProxy(registry.url, {
      fault: ({ method, path, attempt }) => {
        if (method !== 'GET') return undefined;
        if (path.includes('/manifests/') && attempt <= 2) return { status: 503 };
        if (path.endsWith(cut.digest) && attempt === 1) return { cutAfter: 300 * 1024 };
        if (path.endsWith(stalled.digest) && attempt === 1) return { stallAfter: 200 * 1024 };
        return undefined;
      },
    });
    daemon = await startKeelson({ configToml: '[image]\nidle_timeout_seconds = 1\n' });
    const res = await daemon.client.image.call('PullImage', { image: { image: `${proxy.host}/faults/retry-${suffix}:v1` } });
    expect(res.image_ref).toBe(image.config.digest);
    expect(proxy.gets('/manifests/v1').map((r) => r.status)).toEqual([503, 503, 200]);
    for (const [layer, first] of [[cut, 300 * 1024], [stalled, 200 * 1024]] as const) {
      const gets = proxy.gets(layer.digest);
      expect(gets).toHaveLength(2);
      expect(gets[0]?.bytes).toBe(first);
      expect(gets[1]?.range).toBe(`bytes=${first}-`);
      expect(gets[1]?.bytes).toBe(layer.size - first);
    }
  });

  it.each([[403, 'FAILED_PRECONDITION', 'denied access (HTTP 403)'], [429, 'RESOURCE_EXHAUSTED', 'rate limiting (HTTP 429)'], [404, 'NOT_FOUND', 'not found in']] as const)(
    'answers HTTP %i clearly, naming registry and repository', async (code, grpcName, text) => {
      const image = await buildImage({ base: false, layers: [[{ type: 'file', path: 'x', content: `${code}` }]] });
      await registry.push(`faults/http-${code}-${suffix}`, image, 'v1');
      proxy = await startProxy(registry.url, { fault: ({ path }) => (path.includes('/manifests/') ? { status: code } : undefined) });
      daemon = await startKeelson();
      await expect(daemon.client.image.call('PullImage', { image: { image: `${proxy.host}/faults/http-${code}-${suffix}:v1` } })).rejects.toMatchObject({
        code: status[grpcName],
        details: expect.stringContaining(`${text}`),
      });
      const err = await daemon.client.image.call('PullImage', { image: { image: `${proxy.host}/faults/http-${code}-${suffix}:v1` } }).catch((e: { details: string }) => e);
      expect((err as { details: string }).details).toContain(`registry ${proxy.host} repository faults/http-${code}-${suffix}`);
    });
});

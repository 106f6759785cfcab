// Credentials never leave the registry's host (CVE-2020-15157 "ContainerDrip"): a redirect
// of a blob to another host drops Authorization, and foreign `urls` in a layer descriptor
// are never followed.
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { buildImage, jsonBlob, type Blob, type BuiltImage } from '../../fixtures/image-builder.js';
import { startRegistry, type Registry } from '../../fixtures/registry.js';

const user = 'keelson';
const password = `pw-${randomBytes(4).toString('hex')}`;
const suffix = randomBytes(3).toString('hex');
let registry: Registry;
let daemon: KeelsonDaemon;
let image: BuiltImage;
let spy: http.Server;
let spyHost: string;
const spySaw: Array<{ path: string; headers: IncomingHttpHeaders }> = [];
let front: http.Server;
let frontHost: string;
let urlsManifest: Blob | undefined;

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  registry = await startRegistry({ htpasswd: { user, password } });
  image = await buildImage({ base: false, layers: [[{ type: 'file', path: 'creds', content: suffix }]] });
  await registry.push(`creds/app-${suffix}`, image, 'v1');
  // The spy serves blobs on another host (port) and records what it was sent.
  spy = http.createServer((req, res) => {
    spySaw.push({ path: req.url ?? '', headers: req.headers });
    const digest = /\/blob\/(sha256:[a-f0-9]{64})$/.exec(req.url ?? '')?.[1];
    if (!digest) {
      res.writeHead(404).end();
      return;
    }
    void registry.fetch(`/v2/creds/app-${suffix}/blobs/${digest}`).then(async (r) => {
      res.writeHead(r.status, { 'Content-Type': 'application/octet-stream' });
      res.end(Buffer.from(await r.arrayBuffer()));
    });
  });
  spyHost = await listen(spy);
  // The front forwards to the registry but redirects layer blobs to the spy.
  front = http.createServer((req, res) => {
    const path = req.url ?? '/';
    if (urlsManifest && path.endsWith('/manifests/urls')) {
      res.writeHead(200, { 'Content-Type': urlsManifest.mediaType, 'Content-Length': String(urlsManifest.size) }).end(urlsManifest.data);
      return;
    }
    const layer = image.layers.find((l) => path.endsWith(`/blobs/${l.digest}`));
    if (layer && req.headers.authorization) {
      res.writeHead(307, { Location: `http://${spyHost}/blob/${layer.digest}` }).end();
      return;
    }
    const up = http.request({ host: '127.0.0.1', port: registry.port, method: req.method, path, headers: { ...req.headers, host: registry.host } }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  frontHost = await listen(front);
  daemon = await startKeelson();
});

afterAll(async () => {
  await daemon?.destroy();
  front?.closeAllConnections();
  spy?.closeAllConnections();
  await new Promise((r) => front?.close(r) ?? r(undefined));
  await new Promise((r) => spy?.close(r) ?? r(undefined));
  await registry?.stop();
});

describe('credentials stay with the registry', () => {
  it('drops Authorization when a blob redirects to another host', async () => {
    const res = await daemon.client.image.call('PullImage', { image: { image: `${frontHost}/creds/app-${suffix}:v1` }, auth: { username: user, password } });
    expect(res.image_ref).toBe(image.config.digest);
    const blobGets = spySaw.filter((s) => s.path.includes(image.layers[0]!.digest));
    expect(blobGets.length).toBeGreaterThan(0);
    for (const s of blobGets) expect(s.headers.authorization).toBeUndefined();
    await daemon.client.image.call('RemoveImage', { image: { image: res.image_ref ?? '' } });
  });

  it('never follows foreign urls in a layer descriptor', async () => {
    spySaw.length = 0;
    // The front serves this manifest itself (docker-registry refuses urls on upload).
    const docker = await buildImage({ format: 'docker', base: false, layers: [[{ type: 'file', path: 'foreign', content: suffix }]] });
    await registry.push(`creds/app-${suffix}`, docker, 'plain');
    const manifest = {
      ...docker.manifestJson,
      layers: docker.manifestJson.layers.map((l) => ({ ...l, urls: [`http://${spyHost}/blob/${l.digest}`] })),
    };
    urlsManifest = jsonBlob(manifest.mediaType, manifest);
    const res = await daemon.client.image.call('PullImage', { image: { image: `${frontHost}/creds/app-${suffix}:urls` }, auth: { username: user, password } });
    expect(res.image_ref).toBe(docker.config.digest);
    expect(spySaw).toEqual([]);
  });
});

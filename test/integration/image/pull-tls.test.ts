// PullImage from registries that serve HTTPS only (self-signed certificate for 127.0.0.1):
// plain, behind basic auth, and as a mirror named `https://127.0.0.1:PORT`. Loopback registries
// are insecure, so the daemon accepts the certificate; the raw HTTP probe shows that nothing
// but TLS could have answered.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { buildImage, type BuiltImage } from '../../fixtures/image-builder.js';
import { startRegistry, type Registry } from '../../fixtures/registry.js';

const suffix = randomBytes(3).toString('hex');
const user = 'keelson';
const password = `pw-${randomBytes(4).toString('hex')}`;
/** A registry name that only exists through its mirror. */
const mirroredName = `mirrored-${suffix}.example`;
let tlsRegistry: Registry;
let authRegistry: Registry;
let daemon: KeelsonDaemon;

/** A plain-HTTP GET of /v2/ to a registry's port. */
function plainHttpGet(port: number): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/v2/', agent: false, timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`plain HTTP GET to port ${port} timed out`)));
    req.on('error', reject);
  });
}

/** An image with one layer holding `marker`, so no two tests share blobs the daemon already has. */
function markedImage(marker: string): Promise<BuiltImage> {
  return buildImage({ base: false, layers: [[{ type: 'file', path: 'tls-marker', content: `${marker} ${suffix}` }]] });
}

/** Checks ImageStatus by name and that the single layer was unpacked with its content. */
async function expectPulled(name: string, image: BuiltImage, marker: string): Promise<void> {
  const st = await daemon.client.image.call('ImageStatus', { image: { image: name } });
  expect(st.image?.id).toBe(image.config.digest);
  expect(st.image?.repo_tags).toEqual([name]);
  const list = await daemon.client.image.call('ListImages', {});
  expect(list.images?.map((i) => i.id)).toContain(image.config.digest);
  const diffId = image.configJson.rootfs.diff_ids[0] as string;
  const layerFile = join(daemon.root, 'snapshots', diffId.slice('sha256:'.length), 'fs', 'tls-marker');
  expect(readFileSync(layerFile, 'utf8')).toBe(`${marker} ${suffix}`);
}

beforeAll(async () => {
  [tlsRegistry, authRegistry] = await Promise.all([
    startRegistry({ tls: true }),
    startRegistry({ tls: true, htpasswd: { user, password } }),
  ]);
  daemon = await startKeelson({
    configToml: `[image.registries."${mirroredName}"]\nmirrors = ["https://${tlsRegistry.host}"]\n`,
  });
});

afterAll(async () => {
  await daemon?.destroy();
  await tlsRegistry?.stop();
  await authRegistry?.stop();
});

describe('the TLS registry fixture', () => {
  it('serves https only: a plain-HTTP request gets no registry answer', async () => {
    expect(tlsRegistry.url).toBe(`https://${tlsRegistry.host}`);
    expect(tlsRegistry.caCert).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const ok = await tlsRegistry.fetch('/v2/');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    await ok.body?.cancel();

    for (const registry of [tlsRegistry, authRegistry]) {
      // Go's TLS listener answers plaintext with a bare 400, never a registry reply, so a pull
      // over plain HTTP (the loopback fallback) could not succeed.
      const plain = await plainHttpGet(registry.port);
      expect(plain.status).toBe(400);
      expect(plain.body).toMatch(/HTTP request to an HTTPS server/);
      expect(plain.headers['docker-distribution-api-version']).toBeUndefined();
    }
  });

  it('refuses a client that does not trust its certificate', async () => {
    await expect(fetch(`${tlsRegistry.url}/v2/`)).rejects.toThrow();
  });
});

describe('PullImage over HTTPS', () => {
  it('pulls from an HTTPS-only registry and unpacks the layer', async () => {
    const image = await markedImage('plain');
    await tlsRegistry.push(`tls/plain-${suffix}`, image, 'v1');
    const name = `${tlsRegistry.host}/tls/plain-${suffix}:v1`;
    const res = await daemon.client.image.call('PullImage', { image: { image: name } });
    expect(res.image_ref).toBe(image.config.digest);
    await expectPulled(name, image, 'plain');
  });

  it('pulls from an HTTPS-only registry with basic auth from the CRI AuthConfig', async () => {
    const image = await markedImage('auth');
    await authRegistry.push(`tls/auth-${suffix}`, image, 'v1');
    const name = `${authRegistry.host}/tls/auth-${suffix}:v1`;
    await expect(daemon.client.image.call('PullImage', { image: { image: name } })).rejects.toMatchObject({
      details: expect.stringContaining('requires basic authentication'),
    });
    const res = await daemon.client.image.call('PullImage', { image: { image: name }, auth: { username: user, password } });
    expect(res.image_ref).toBe(image.config.digest);
    await expectPulled(name, image, 'auth');
  });

  it('pulls through a mirror configured as https://127.0.0.1:PORT', async () => {
    const image = await markedImage('mirror');
    await tlsRegistry.push(`tls/mirrored-${suffix}`, image, 'v1');
    const name = `${mirroredName}/tls/mirrored-${suffix}:v1`;
    const res = await daemon.client.image.call('PullImage', { image: { image: name } });
    expect(res.image_ref).toBe(image.config.digest);
    await expectPulled(name, image, 'mirror');
  });
});

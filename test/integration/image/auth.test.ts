// Registry auth through PullImage: basic auth (docker-registry with htpasswd) from the CRI
// AuthConfig and from a docker-style config.json, and bearer tokens from a token server.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { buildImage, type BuiltImage } from '../../fixtures/image-builder.js';
import { startRegistry, type Registry } from '../../fixtures/registry.js';
import { startProxy, type Proxy } from '../../fixtures/tampering-proxy.js';
import { startTokenServer, type TokenServer } from '../../fixtures/token-server.js';

const user = 'keelson';
const password = `pw-${randomBytes(4).toString('hex')}`;
const suffix = randomBytes(3).toString('hex');
let basicRegistry: Registry;
let openRegistry: Registry;
let tokens: TokenServer;
let bearerProxy: Proxy;
let daemon: KeelsonDaemon;
let image: BuiltImage;
let authFile: string;

beforeAll(async () => {
  image = await buildImage({ base: false, layers: [[{ type: 'file', path: 'auth', content: suffix }]] });
  basicRegistry = await startRegistry({ htpasswd: { user, password } });
  openRegistry = await startRegistry();
  tokens = await startTokenServer({ user, password });
  bearerProxy = await startProxy(openRegistry.url, { bearer: { realm: tokens.realm, service: tokens.service, valid: (t) => tokens.valid(t) } });
  await basicRegistry.push(`auth/basic-${suffix}`, image, 'v1');
  await openRegistry.push(`auth/bearer-${suffix}`, image, 'v1');
  await openRegistry.push(`auth/bearer-${suffix}`, image, 'v2');
  daemon = await startKeelson();
  authFile = join(daemon.base, 'auth.json');
  // The daemon reads the auth file at each pull, so it can be written later.
  await daemon.stop();
  daemon = await startKeelson({ base: daemon.base, configToml: `[image]\nauth_file = "${authFile}"\n` });
});

afterAll(async () => {
  await daemon?.destroy();
  await bearerProxy?.stop();
  await tokens?.stop();
  await basicRegistry?.stop();
  await openRegistry?.stop();
});

describe('basic auth', () => {
  const ref = (): string => `${basicRegistry.host}/auth/basic-${suffix}:v1`;

  it('is refused without credentials, naming registry and repository', async () => {
    await expect(daemon.client.image.call('PullImage', { image: { image: ref() } })).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: expect.stringContaining(`registry ${basicRegistry.host} repository auth/basic-${suffix}`),
    });
  });

  it('is refused with a wrong password', async () => {
    await expect(daemon.client.image.call('PullImage', { image: { image: ref() }, auth: { username: user, password: 'wrong' } }))
      .rejects.toMatchObject({ code: status.FAILED_PRECONDITION, details: expect.stringMatching(/HTTP 401/) });
  });

  it('pulls with username and password from the CRI AuthConfig', async () => {
    const res = await daemon.client.image.call('PullImage', { image: { image: ref() }, auth: { username: user, password } });
    expect(res.image_ref).toBe(image.config.digest);
    await daemon.client.image.call('RemoveImage', { image: { image: ref() } });
  });

  it('pulls with the base64 "auth" field', async () => {
    const auth = Buffer.from(`${user}:${password}`).toString('base64');
    const res = await daemon.client.image.call('PullImage', { image: { image: ref() }, auth: { auth } });
    expect(res.image_ref).toBe(image.config.digest);
    await daemon.client.image.call('RemoveImage', { image: { image: ref() } });
  });

  it('pulls with credentials from a docker-style config.json', async () => {
    const auth = Buffer.from(`${user}:${password}`).toString('base64');
    writeFileSync(authFile, JSON.stringify({ auths: { [basicRegistry.host]: { auth } } }));
    const res = await daemon.client.image.call('PullImage', { image: { image: ref() } });
    expect(res.image_ref).toBe(image.config.digest);
    writeFileSync(authFile, '{}');
  });
});

describe('bearer token auth', () => {
  const ref = (tag: string): string => `${bearerProxy.host}/auth/bearer-${suffix}:${tag}`;

  it('is refused when the token server refuses the credentials', async () => {
    await expect(daemon.client.image.call('PullImage', { image: { image: ref('v1') }, auth: { username: user, password: 'wrong' } }))
      .rejects.toMatchObject({ code: status.FAILED_PRECONDITION, details: expect.stringContaining('refused the credentials') });
  });

  it('pulls with a token from the token server, cached per scope', async () => {
    const before = tokens.issued.length;
    const res = await daemon.client.image.call('PullImage', { image: { image: ref('v1') }, auth: { username: user, password } });
    expect(res.image_ref).toBe(image.config.digest);
    const again = await daemon.client.image.call('PullImage', { image: { image: ref('v2') }, auth: { username: user, password } });
    expect(again.image_ref).toBe(image.config.digest);
    const issued = tokens.issued.slice(before);
    expect(issued).toHaveLength(1);
    expect(issued[0]?.scope).toBe(`repository:auth/bearer-${suffix}:pull`);
    // Every registry request after the challenge carried the token.
    const unauthorised = bearerProxy.requests.filter((r) => r.status === 401);
    expect(unauthorised.length).toBeLessThanOrEqual(3);
  });
});

// The distribution API v2 client: endpoints (mirrors, insecure and loopback registries),
// auth, retries with backoff, manifests bounded in size, blobs resumable with Range.
// Credentials only ever go to the endpoint host (and the token realm it names):
// layer `urls` are never followed, and a redirect to another host drops Authorization.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { KeelsonError } from '../../errors.js';
import type { ImageReference } from '../reference.js';
import {
  credentialsFromDockerConfig, fetchBearerToken, parseChallenge, TokenCache, type Credentials,
} from './auth.js';
import { discard, httpRequest, readBody, TransportError, type HttpResponse } from './http.js';

export const MAX_JSON_BYTES = 4 * 1024 * 1024;

export interface RegistryHostConfig {
  /** Endpoints used instead of the registry itself, in order; no fallback to the upstream. */
  mirrors?: string[];
  /** Plain HTTP or a self-signed certificate is acceptable. */
  insecure?: boolean;
}

export interface RegistryClientOptions {
  registries: Record<string, RegistryHostConfig>;
  /** A docker-style config.json with "auths"; missing is fine. */
  authFile?: string;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  /** Retries after the first attempt, on 5xx and broken connections. */
  retries: number;
  retryBaseMs?: number;
}

interface Endpoint {
  /** scheme://host[:port] candidates, tried in order until one connects. */
  bases: string[];
  host: string;
  skipTlsVerify: boolean;
}

const UPSTREAM_HOST: Record<string, string> = { 'docker.io': 'registry-1.docker.io' };

function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || /^127\./.test(name);
}

export class RegistryClient {
  readonly tokens = new TokenCache();
  /** Which scheme worked for a host, so later requests skip the probing. */
  readonly #workingBase = new Map<string, string>();

  constructor(readonly opts: RegistryClientOptions) {}

  endpointsFor(registry: string): Endpoint[] {
    const hostConfig = this.opts.registries[registry];
    const toEndpoint = (spec: string, insecureDefault: boolean): Endpoint => {
      const m = /^(https?):\/\/([^/]+)\/?$/.exec(spec);
      const host = m ? (m[2] as string) : spec;
      const insecure = insecureDefault || (this.opts.registries[host]?.insecure ?? false) || isLoopback(host);
      const bases = m ? [`${m[1]}://${host}`] : insecure ? [`https://${host}`, `http://${host}`] : [`https://${host}`];
      return { bases, host, skipTlsVerify: insecure };
    };
    if (hostConfig?.mirrors && hostConfig.mirrors.length > 0) {
      return hostConfig.mirrors.map((m) => toEndpoint(m, false));
    }
    return [toEndpoint(UPSTREAM_HOST[registry] ?? registry, hostConfig?.insecure ?? false)];
  }

  session(ref: ImageReference, creds?: Credentials): RegistrySession {
    return new RegistrySession(this, ref, creds);
  }

  workingBase(host: string): string | undefined {
    return this.#workingBase.get(host);
  }

  rememberBase(host: string, base: string): void {
    this.#workingBase.set(host, base);
  }
}

export interface FetchedManifest {
  mediaType: string;
  digest: string;
  data: Buffer;
}

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  // Accepted so that the answer can be refused with a clear message rather than a 404.
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/vnd.docker.distribution.manifest.v1+json',
].join(', ');

/** Requests for one repository of one registry, with one set of credentials. */
export class RegistrySession {
  /** Authorization header per endpoint host, learnt from challenges. */
  readonly #auth = new Map<string, string>();
  readonly #endpoints: Endpoint[];

  constructor(readonly client: RegistryClient, readonly ref: ImageReference, readonly creds: Credentials | undefined) {
    this.#endpoints = client.endpointsFor(ref.registry);
  }

  get where(): string {
    return `registry ${this.ref.registry} repository ${this.ref.repository}`;
  }

  /** GET a manifest by tag or digest; verifies the digest when asked by digest. */
  async fetchManifest(reference: string): Promise<FetchedManifest> {
    const res = await this.request(`manifests/${reference}`, { Accept: MANIFEST_ACCEPT }, `manifest ${reference}`);
    const data = await readBody(res, MAX_JSON_BYTES, `manifest ${reference} from ${this.where}`);
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new KeelsonError('FailedPrecondition', `manifest ${reference} from ${this.where} has digest ${digest}: content does not match`);
    }
    const mediaType = String(res.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
    return { mediaType, digest, data };
  }

  /** A small JSON blob (image config), bounded and verified. */
  async fetchJsonBlob(digest: string, size: number): Promise<Buffer> {
    if (size > MAX_JSON_BYTES) {
      throw new KeelsonError('ResourceExhausted', `blob ${digest} of ${this.where} is ${size} bytes, more than the ${MAX_JSON_BYTES} allowed for JSON`);
    }
    const res = await this.request(`blobs/${digest}`, {}, `blob ${digest}`);
    const data = await readBody(res, MAX_JSON_BYTES, `blob ${digest} from ${this.where}`);
    const actual = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    if (actual !== digest || data.length !== size) {
      throw new KeelsonError('FailedPrecondition', `blob ${digest} from ${this.where}: digest mismatch (got ${actual}, ${data.length} bytes, want ${size})`);
    }
    return data;
  }

  /** Opens a blob at `offset`; the stream yields exactly the bytes from offset on. */
  async openBlob(digest: string, offset: number): Promise<Readable> {
    const headers: Record<string, string> = offset > 0 ? { Range: `bytes=${offset}-` } : {};
    const res = await this.request(`blobs/${digest}`, headers, `blob ${digest}`);
    if (offset === 0 || res.status === 206) {
      if (res.status === 206) {
        const start = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''))?.[1];
        if (start !== undefined && Number(start) !== offset) {
          res.body.destroy();
          throw new TransportError(`${this.where} answered range ${start}- when asked for ${offset}-`);
        }
      }
      return res.body;
    }
    // The server ignored Range: skip what we already have.
    return Readable.from(skipBytes(res.body, offset));
  }

  /** One request, with endpoint choice, auth, redirects and retries. Answers 200/206 or throws. */
  async request(path: string, extraHeaders: Record<string, string>, what: string): Promise<HttpResponse> {
    const { retries, retryBaseMs = 200 } = this.client.opts;
    let lastError: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await sleep(retryBaseMs * 2 ** (attempt - 1) * (0.75 + Math.random() / 2));
      try {
        const res = await this.#requestOnce(path, extraHeaders, what);
        if (res.status >= 500) {
          discard(res);
          lastError = new KeelsonError('Unavailable', `${what} from ${this.where}: HTTP ${res.status} from ${res.url.host}`);
          continue;
        }
        return await this.#checkStatus(res, what);
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        lastError = err;
      }
    }
    const reason = lastError instanceof Error ? lastError.message : String(lastError);
    throw new KeelsonError('Unavailable', `${what} from ${this.where}: giving up after ${retries + 1} attempts: ${reason}`, { cause: lastError });
  }

  async #checkStatus(res: HttpResponse, what: string): Promise<HttpResponse> {
    if (res.status === 200 || res.status === 206) return res;
    const detail = (await readBody(res, 4096, 'error body').catch(() => Buffer.alloc(0))).toString('utf8').trim().slice(0, 300);
    const suffix = detail ? `: ${detail}` : '';
    switch (res.status) {
      case 401:
        throw new KeelsonError('FailedPrecondition', `${what}: ${this.where} requires authentication and refused the credentials given (HTTP 401)${suffix}`);
      case 403:
        throw new KeelsonError('FailedPrecondition', `${what}: ${this.where} denied access (HTTP 403)${suffix}`);
      case 404:
        throw new KeelsonError('NotFound', `${what} not found in ${this.where} (HTTP 404)${suffix}`);
      case 429:
        throw new KeelsonError('ResourceExhausted', `${what}: ${this.where} is rate limiting (HTTP 429)${suffix}`);
      case 416:
        throw new KeelsonError('FailedPrecondition', `${what}: ${this.where} has no bytes at the range asked for (HTTP 416): the blob is shorter than its descriptor says${suffix}`);
      default:
        throw new KeelsonError('Unavailable', `${what}: ${this.where} answered HTTP ${res.status}${suffix}`);
    }
  }

  async #requestOnce(path: string, extraHeaders: Record<string, string>, what: string): Promise<HttpResponse> {
    let lastError: unknown;
    for (const endpoint of this.#endpoints) {
      try {
        return await this.#requestEndpoint(endpoint, path, extraHeaders, what);
      } catch (err) {
        // Another mirror may answer; only connection failures move on.
        if (!(err instanceof TransportError)) throw err;
        lastError = err;
      }
    }
    throw lastError;
  }

  async #requestEndpoint(endpoint: Endpoint, path: string, extraHeaders: Record<string, string>, what: string): Promise<HttpResponse> {
    const known = this.client.workingBase(endpoint.host);
    const bases = known ? [known] : endpoint.bases;
    let lastError: unknown;
    for (const base of bases) {
      try {
        const res = await this.#requestAuthed(endpoint, new URL(`${base}/v2/${this.ref.repository}/${path}`), extraHeaders, what);
        this.client.rememberBase(endpoint.host, base);
        return res;
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        lastError = err;
      }
    }
    throw lastError;
  }

  #credentialsFor(host: string): Credentials | undefined {
    if (this.creds) return this.creds;
    const file = this.client.opts.authFile;
    if (!file) return undefined;
    return credentialsFromDockerConfig(file, host === 'registry-1.docker.io' ? 'docker.io' : host) ??
      (host !== this.ref.registry ? undefined : credentialsFromDockerConfig(file, this.ref.registry));
  }

  async #requestAuthed(endpoint: Endpoint, url: URL, extraHeaders: Record<string, string>, what: string): Promise<HttpResponse> {
    const creds = this.#credentialsFor(endpoint.host);
    if (!this.#auth.has(endpoint.host) && creds?.registryToken) this.#auth.set(endpoint.host, `Bearer ${creds.registryToken}`);
    let res = await this.#follow(endpoint, url, extraHeaders);
    if (res.status !== 401) return res;
    const challenge = parseChallenge(String(res.headers['www-authenticate'] ?? ''));
    discard(res);
    if (!challenge) return res;
    const http = { connectTimeoutMs: this.client.opts.connectTimeoutMs, idleTimeoutMs: this.client.opts.idleTimeoutMs, skipTlsVerify: endpoint.skipTlsVerify };
    if (challenge.scheme === 'basic') {
      if (creds?.username === undefined || creds.password === undefined) {
        throw new KeelsonError('FailedPrecondition', `${what}: ${this.where} requires basic authentication and no credentials were given`);
      }
      this.#auth.set(endpoint.host, `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`);
    } else if (challenge.scheme === 'bearer') {
      const scope = `repository:${this.ref.repository}:pull`;
      const key = `${endpoint.host}|${challenge.params.service ?? ''}|${scope}|${creds?.username ?? ''}`;
      let token = this.client.tokens.get(key);
      if (!token) {
        const fetched = await fetchBearerToken(challenge, scope, creds, http, this.ref.registry);
        token = fetched.token;
        this.client.tokens.set(key, token, fetched.expiresIn);
      }
      this.#auth.set(endpoint.host, `Bearer ${token}`);
    } else {
      throw new KeelsonError('FailedPrecondition', `${what}: ${this.where} asks for unsupported auth scheme "${challenge.scheme}"`);
    }
    res = await this.#follow(endpoint, url, extraHeaders);
    return res;
  }

  /** Sends the request and follows up to 5 redirects, keeping Authorization on the endpoint host only. */
  async #follow(endpoint: Endpoint, start: URL, extraHeaders: Record<string, string>): Promise<HttpResponse> {
    let url = start;
    for (let hop = 0; hop <= 5; hop++) {
      const headers: Record<string, string> = { ...extraHeaders, 'User-Agent': 'keelson' };
      const auth = this.#auth.get(endpoint.host);
      if (auth && url.host === endpoint.host) headers.Authorization = auth;
      const res = await httpRequest(url, {
        headers, connectTimeoutMs: this.client.opts.connectTimeoutMs, idleTimeoutMs: this.client.opts.idleTimeoutMs,
        skipTlsVerify: endpoint.skipTlsVerify && url.host === endpoint.host,
      });
      if (![301, 302, 303, 307, 308].includes(res.status)) return res;
      const location = res.headers.location;
      discard(res);
      if (!location) throw new KeelsonError('Unavailable', `${this.where}: redirect without a Location`);
      url = new URL(location, url);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        throw new KeelsonError('Unavailable', `${this.where}: redirect to unsupported URL ${url.protocol}`);
      }
    }
    throw new KeelsonError('Unavailable', `${this.where}: too many redirects`);
  }
}

async function* skipBytes(body: AsyncIterable<Buffer>, count: number): AsyncGenerator<Buffer> {
  let left = count;
  for await (const chunk of body) {
    if (left >= chunk.length) {
      left -= chunk.length;
      continue;
    }
    yield left > 0 ? chunk.subarray(left) : chunk;
    left = 0;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// Registry credentials and the WWW-Authenticate dance: basic auth, and bearer tokens from
// the registry's token server, cached per (registry, scope) until they expire.
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, KeelsonError } from '../../errors.js';
import { httpRequest, readBody, type HttpOptions } from './http.js';

export interface Credentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token for the token server (CRI identity_token). */
  identityToken?: string;
  /** A bearer token to send as is (CRI registry_token). */
  registryToken?: string;
}

/** The CRI AuthConfig fields that carry credentials. */
export interface AuthConfigLike {
  username?: string | null;
  password?: string | null;
  auth?: string | null;
  identity_token?: string | null;
  registry_token?: string | null;
}

export function credentialsFromAuthConfig(a: AuthConfigLike | null | undefined): Credentials | undefined {
  if (!a) return undefined;
  const creds: Credentials = {};
  if (a.username) creds.username = a.username;
  if (a.password) creds.password = a.password;
  if (a.auth) Object.assign(creds, decodeBasicAuth(a.auth, 'auth'));
  if (a.identity_token) creds.identityToken = a.identity_token;
  if (a.registry_token) creds.registryToken = a.registry_token;
  return Object.keys(creds).length > 0 ? creds : undefined;
}

function decodeBasicAuth(auth: string, where: string): Credentials {
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) throw new InvalidArgumentError(`${where}: "auth" is not base64 of user:password`);
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** Looks up credentials for a registry host in a docker-style config.json ({"auths": {...}}). */
export function credentialsFromDockerConfig(path: string, host: string): Credentials | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`registry auth file ${path} is not JSON: ${(err as Error).message}`);
  }
  const auths = (parsed as { auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string }> }).auths;
  if (!auths || typeof auths !== 'object') return undefined;
  const keys = host === 'docker.io'
    ? ['docker.io', 'https://index.docker.io/v1/', 'index.docker.io', 'registry-1.docker.io']
    : [host, `https://${host}`, `http://${host}`, `https://${host}/v1/`];
  for (const key of keys) {
    const entry = auths[key];
    if (!entry || typeof entry !== 'object') continue;
    const creds: Credentials = {};
    if (typeof entry.auth === 'string' && entry.auth !== '') Object.assign(creds, decodeBasicAuth(entry.auth, `${path} auths["${key}"]`));
    if (typeof entry.username === 'string') creds.username = entry.username;
    if (typeof entry.password === 'string') creds.password = entry.password;
    if (typeof entry.identitytoken === 'string') creds.identityToken = entry.identitytoken;
    if (typeof entry.registrytoken === 'string') creds.registryToken = entry.registrytoken;
    return creds;
  }
  return undefined;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="...",service="...",scope="..."` (the first challenge only). */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))\s*,?\s*/g;
  for (let p = re.exec(m[2] ?? ''); p; p = re.exec(m[2] ?? '')) {
    params[(p[1] ?? '').toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme: (m[1] ?? '').toLowerCase(), params };
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Bearer tokens shared by all pulls of this daemon, keyed by registry host, service and scope. */
export class TokenCache {
  readonly #tokens = new Map<string, CachedToken>();

  get(key: string): string | undefined {
    const t = this.#tokens.get(key);
    if (!t) return undefined;
    if (Date.now() >= t.expiresAt) {
      this.#tokens.delete(key);
      return undefined;
    }
    return t.token;
  }

  set(key: string, token: string, lifetimeSeconds: number): void {
    // Renew a little early so a token never expires in flight.
    const margin = Math.min(10, lifetimeSeconds / 10);
    this.#tokens.set(key, { token, expiresAt: Date.now() + (lifetimeSeconds - margin) * 1000 });
  }
}

/** Asks the token server named by a Bearer challenge for a token for `scope`. */
export async function fetchBearerToken(
  challenge: Challenge, scope: string, creds: Credentials | undefined, http: Omit<HttpOptions, 'headers'>, registryHost: string,
): Promise<{ token: string; expiresIn: number }> {
  const realm = challenge.params.realm;
  if (!realm) throw new KeelsonError('Unavailable', `registry ${registryHost} sent a Bearer challenge without a realm`);
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new KeelsonError('Unavailable', `registry ${registryHost} sent a bad token realm "${realm}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new KeelsonError('Unavailable', `registry ${registryHost} token realm "${realm}" is not http(s)`);
  }
  if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
  url.searchParams.set('scope', scope);
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (creds?.username !== undefined && creds.password !== undefined) {
    headers.Authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
  }
  if (creds?.identityToken) url.searchParams.set('refresh_token', creds.identityToken);
  const res = await httpRequest(url, { ...http, headers });
  const body = await readBody(res, 1024 * 1024, `token response from ${url.host}`);
  if (res.status === 401 || res.status === 403) {
    throw new KeelsonError('FailedPrecondition', `token server ${url.host} refused the credentials for registry ${registryHost} (HTTP ${res.status})`);
  }
  if (res.status !== 200) {
    throw new KeelsonError('Unavailable', `token server ${url.host} for registry ${registryHost} answered HTTP ${res.status}`);
  }
  let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
  } catch {
    throw new KeelsonError('Unavailable', `token server ${url.host} sent a response that is not JSON`);
  }
  const token = typeof parsed.token === 'string' ? parsed.token : typeof parsed.access_token === 'string' ? parsed.access_token : '';
  if (token === '') throw new KeelsonError('Unavailable', `token server ${url.host} sent no token`);
  const expiresIn = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 60;
  return { token, expiresIn };
}

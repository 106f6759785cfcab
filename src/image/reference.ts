// Docker-style image references: `busybox` -> docker.io/library/busybox:latest,
// `host:5000/a/b:tag@sha256:...`. Parsing follows distribution/reference's grammar.
import { InvalidArgumentError } from '../errors.js';

export const DOCKER_HUB = 'docker.io';
const LEGACY_HUB_NAMES = new Set(['index.docker.io', 'registry-1.docker.io']);

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const DOMAIN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$/;

export interface ImageReference {
  /** Registry host as written (normalised for Docker Hub), e.g. `docker.io`, `127.0.0.1:5000`. */
  registry: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  repository: string;
  /** The tag; `latest` when neither tag nor digest was given. */
  tag?: string;
  digest?: string;
}

/** True for a full `sha256:<64 hex>` digest. */
export function isDigest(s: string): boolean {
  return DIGEST.test(s);
}

/** `registry/repository`, the name images are listed under. */
export function repoName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The canonical string: `repo:tag`, `repo@digest` or `repo:tag@digest`. */
export function formatReference(ref: ImageReference): string {
  return `${repoName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** Parses and normalises a reference; throws InvalidArgumentError naming what is wrong. */
export function parseReference(input: string): ImageReference {
  const bad = (why: string): InvalidArgumentError => new InvalidArgumentError(`invalid image reference "${input}": ${why}`);
  if (input.length === 0) throw bad('empty');
  if (input.length > 4096) throw bad('longer than 4096 characters');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(`digest "${digest}" is not sha256:<64 lowercase hex digits>`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`tag "${tag}" is not valid`);
  }
  if (rest.length === 0) throw bad('no repository name');
  let registry = DOCKER_HUB;
  let path = rest;
  const firstSlash = rest.indexOf('/');
  if (firstSlash !== -1) {
    const first = rest.slice(0, firstSlash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[') || first !== first.toLowerCase()) {
      registry = first;
      path = rest.slice(firstSlash + 1);
      if (!DOMAIN.test(registry)) throw bad(`registry "${registry}" is not a valid host[:port]`);
    }
  }
  if (LEGACY_HUB_NAMES.has(registry)) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  for (const component of path.split('/')) {
    if (!COMPONENT.test(component)) {
      throw bad(`repository component "${component}" must be lowercase letters, digits and separators (. _ __ -)`);
    }
  }
  if (registry.length + 1 + path.length > 255) throw bad('repository name longer than 255 characters');
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository: path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

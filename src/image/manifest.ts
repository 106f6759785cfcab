// OCI / Docker schema 2 manifests, indexes and image configs: validated with ajv, media
// types checked, and the child of an index chosen for this node's platform.
import { Ajv, type ValidateFunction } from 'ajv';
import { arch } from 'node:process';
import { InvalidArgumentError, KeelsonError } from '../errors.js';

export const MediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
} as const;

const SCHEMA1 = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

export type LayerCompression = 'gzip' | 'zstd' | 'none';

const LAYER_TYPES: Record<string, LayerCompression> = {
  'application/vnd.oci.image.layer.v1.tar': 'none',
  'application/vnd.oci.image.layer.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar': 'none',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd': 'zstd',
  'application/vnd.docker.image.rootfs.diff.tar': 'none',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip': 'gzip',
};

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  /** Present in hostile or foreign-layer manifests; never followed. */
  urls?: string[];
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

export interface ImageConfigRuntime {
  User?: string;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  StopSignal?: string;
  Volumes?: Record<string, unknown> | null;
  Labels?: Record<string, string> | null;
  ExposedPorts?: Record<string, unknown> | null;
}

/** The parsed OCI image config (Docker's is a superset). */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  config?: ImageConfigRuntime;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: unknown[];
}

/** Layers one image may have (Docker's and containerd's practical limit: overlay lowerdirs). */
export const MAX_LAYERS = 127;

const digest = { type: 'string', pattern: '^sha256:[a-f0-9]{64}$' } as const;
const descriptor = {
  type: 'object',
  required: ['mediaType', 'digest', 'size'],
  properties: {
    mediaType: { type: 'string', minLength: 1, maxLength: 255 },
    digest,
    size: { type: 'integer', minimum: 0 },
    urls: { type: 'array', items: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
    platform: {
      type: 'object',
      required: ['architecture', 'os'],
      properties: { architecture: { type: 'string' }, os: { type: 'string' }, variant: { type: 'string' } },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: false, strict: false });
const validateManifest = ajv.compile<ImageManifest>({
  type: 'object',
  required: ['schemaVersion', 'config', 'layers'],
  properties: {
    schemaVersion: { const: 2 },
    mediaType: { type: 'string' },
    config: descriptor,
    layers: { type: 'array', items: descriptor, maxItems: MAX_LAYERS },
  },
});
const validateIndex = ajv.compile<ImageIndex>({
  type: 'object',
  required: ['schemaVersion', 'manifests'],
  properties: {
    schemaVersion: { const: 2 },
    mediaType: { type: 'string' },
    manifests: { type: 'array', items: descriptor, maxItems: 1024 },
  },
});
const validateConfig = ajv.compile<ImageConfig>({
  type: 'object',
  required: ['rootfs'],
  properties: {
    architecture: { type: 'string' },
    os: { type: 'string' },
    config: {
      type: ['object', 'null'],
      properties: {
        User: { type: 'string' },
        Env: { type: ['array', 'null'], items: { type: 'string' } },
        Entrypoint: { type: ['array', 'null'], items: { type: 'string' } },
        Cmd: { type: ['array', 'null'], items: { type: 'string' } },
        WorkingDir: { type: 'string' },
        StopSignal: { type: 'string' },
        Volumes: { type: ['object', 'null'] },
        Labels: { type: ['object', 'null'], additionalProperties: { type: 'string' } },
      },
    },
    rootfs: {
      type: 'object',
      required: ['type', 'diff_ids'],
      properties: { type: { const: 'layers' }, diff_ids: { type: 'array', items: digest, maxItems: MAX_LAYERS } },
    },
  },
});

function parseJson<T>(data: Buffer, what: string, validate: ValidateFunction<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw new InvalidArgumentError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
  if (!validate(value)) {
    const e = validate.errors?.[0];
    throw new InvalidArgumentError(`${what} is malformed: ${e?.instancePath || '(root)'} ${e?.message ?? 'invalid'}`);
  }
  return value;
}

export type ParsedManifest =
  | { kind: 'image'; manifest: ImageManifest }
  | { kind: 'index'; index: ImageIndex };

/** Classifies and validates a manifest document by its media type (header, then body). */
export function parseManifest(data: Buffer, headerMediaType: string, what: string): ParsedManifest {
  let bodyType: string | undefined;
  let schemaVersion: unknown;
  try {
    const peek = JSON.parse(data.toString('utf8')) as { mediaType?: unknown; schemaVersion?: unknown; manifests?: unknown };
    bodyType = typeof peek.mediaType === 'string' ? peek.mediaType : Array.isArray(peek.manifests) ? MediaTypes.ociIndex : undefined;
    schemaVersion = peek.schemaVersion;
  } catch (err) {
    throw new InvalidArgumentError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
  const mediaType = bodyType ?? (headerMediaType || MediaTypes.ociManifest);
  if (SCHEMA1.has(mediaType) || SCHEMA1.has(headerMediaType) || schemaVersion === 1) {
    throw new KeelsonError('FailedPrecondition', `${what} is a Docker schema 1 manifest, which keelson does not support (re-push the image with a current client)`);
  }
  switch (mediaType) {
    case MediaTypes.ociManifest:
    case MediaTypes.dockerManifest: {
      const layers = (JSON.parse(data.toString('utf8')) as { layers?: unknown }).layers;
      if (Array.isArray(layers) && layers.length > MAX_LAYERS) {
        throw new KeelsonError('FailedPrecondition', `${what} has ${layers.length} layers, more than keelson's limit of ${MAX_LAYERS} (the overlay mount's own bound)`);
      }
      return { kind: 'image', manifest: parseJson(data, what, validateManifest) };
    }
    case MediaTypes.ociIndex:
    case MediaTypes.dockerList:
      return { kind: 'index', index: parseJson(data, what, validateIndex) };
    default:
      throw new KeelsonError('FailedPrecondition', `${what} has unsupported media type "${mediaType}"`);
  }
}

export function parseImageConfig(data: Buffer, what: string): ImageConfig {
  return parseJson(data, what, validateConfig);
}

/** How a layer's bytes are compressed; refuses unknown layer media types. */
export function layerCompression(desc: Descriptor, what: string): LayerCompression {
  const c = LAYER_TYPES[desc.mediaType];
  if (c === undefined) throw new KeelsonError('FailedPrecondition', `${what}: layer ${desc.digest} has unsupported media type "${desc.mediaType}"`);
  return c;
}

/** This node's platform in OCI terms. */
export function nodePlatform(): Platform {
  switch (arch) {
    case 'x64': return { os: 'linux', architecture: 'amd64' };
    case 'arm64': return { os: 'linux', architecture: 'arm64', variant: 'v8' };
    case 'arm': return { os: 'linux', architecture: 'arm', variant: 'v7' };
    case 'ia32': return { os: 'linux', architecture: '386' };
    case 'ppc64': return { os: 'linux', architecture: 'ppc64le' };
    default: return { os: 'linux', architecture: arch };
  }
}

/** Index children that are images or further indexes (attestations and the like are neither). */
const CHILD_TYPES: ReadonlySet<string> = new Set([MediaTypes.ociManifest, MediaTypes.dockerManifest, MediaTypes.ociIndex, MediaTypes.dockerList]);

/** Indexes followed inside indexes before giving up (containerd follows them too). */
export const MAX_INDEX_DEPTH = 4;

export function isIndexType(mediaType: string): boolean {
  return mediaType === MediaTypes.ociIndex || mediaType === MediaTypes.dockerList;
}

function platformText(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/**
 * The best child of an index for `platform`: exact variant first, then a variant-less entry.
 * A child may itself be an index (the caller follows it); a nested index without a
 * platform is a candidate too, since its own children carry the platforms.
 */
export function selectPlatform(index: ImageIndex, platform: Platform, what: string): Descriptor {
  const children = index.manifests.filter((m) => CHILD_TYPES.has(m.mediaType));
  const candidates = children.filter((m) => m.platform && m.platform.os === platform.os && m.platform.architecture === platform.architecture);
  const norm = (v: string | undefined): string | undefined => (platform.architecture === 'arm64' && v === 'v8' ? undefined : v);
  const chosen = candidates.find((m) => norm(m.platform?.variant) === norm(platform.variant)) ??
    candidates.find((m) => m.platform?.variant === undefined) ??
    children.find((m) => m.platform === undefined && isIndexType(m.mediaType));
  if (!chosen) {
    const offered = index.manifests.map((m) => `${m.platform ? platformText(m.platform) : 'no platform'}${isIndexType(m.mediaType) ? ' (an index)' : CHILD_TYPES.has(m.mediaType) ? '' : ` (${m.mediaType}, not an image)`}`);
    throw new KeelsonError('NotFound', `${what} has no image for this node's platform ${platformText(platform)} (it offers: ${offered.join(', ') || 'nothing'})`);
  }
  return chosen;
}

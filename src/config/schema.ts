// The configuration file's shape, as a JSON schema that ajv checks strictly: unknown keys
// and values of the wrong type are errors that name the key.

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
export type CgroupDriverSetting = 'auto' | 'cgroupfs' | 'systemd';

export interface RuntimeHandlerConfig {
  /** The OCI runtime binary: an absolute path or a name looked up in PATH. */
  path: string;
}

export interface Config {
  root: string;
  state: string;
  /** Defaults to <state>/keelson.sock. */
  socket: string;
  log_level: LogLevel;
  cgroup_driver: CgroupDriverSetting;
  runtime: {
    default_handler: string;
    handlers: Record<string, RuntimeHandlerConfig>;
  };
  conmon: { path: string };
  /** CRIU, which checkpoints run through (runc calls it); a name is looked up on PATH. */
  criu: { path: string };
  /** CDI spec dirs, lowest priority first (a later dir's device wins). */
  cdi: { spec_dirs: string[] };
  cni: {
    conf_dir: string;
    bin_dirs: string[];
    /** Bound on each CNI plugin call. */
    plugin_timeout_ms: number;
  };
  sandbox: {
    /** Size of each pod's /dev/shm tmpfs. */
    shm_size_bytes: number;
    /** The infra process of pods that share a PID namespace: a path or a name in PATH. */
    infra_binary: string;
  };
  containers: {
    /** pids.max of every container; 0 for no limit. */
    pids_limit: number;
    /** Bytes a container's log file may reach before conmon truncates it; -1 for no limit. */
    log_size_max: number;
  };
  image: ImageSettings;
  supervisor: {
    /** First restart delay of a crashed container of a `keelson run` pod; doubles each time. */
    backoff_base_ms: number;
    /** The restart delay's ceiling (kubelet: 5 minutes). */
    backoff_max_ms: number;
    /** How often the supervisor looks at its pods. */
    tick_ms: number;
  };
  stream: StreamSettings;
  csi: CsiSettings;
}

export interface CsiPluginSettings {
  /** The plugin's unix socket (absolute path). */
  endpoint: string;
  /** When set, keelson starts this program, supervises it and restarts it with backoff. */
  binary?: string;
  args?: string[];
  env?: Record<string, string>;
}

export interface CsiSettings {
  /** Plugins by driver name (the name pods use in `csi.driver` and `volume create --driver`). */
  plugins: Record<string, CsiPluginSettings>;
  /** Watched for kubelet-style registration sockets (`<name>-reg.sock`); "" for none. */
  registration_dir: string;
  /** Bound on one CSI call; calls that fail with UNAVAILABLE or DEADLINE_EXCEEDED are retried. */
  call_timeout_seconds: number;
  call_retries: number;
  /** First restart delay of a plugin binary that exited (doubles up to 30 s). */
  restart_backoff_ms: number;
}

export interface StreamSettings {
  /** Listen address of the streaming server (exec/attach/port-forward URLs); loopback by default. */
  address: string;
  /** 0: a free port chosen at start. */
  port: number;
  /** PEM files; both set: the server speaks HTTPS. */
  tls_cert_file: string;
  tls_key_file: string;
  /** How long an Exec/Attach/PortForward URL stays usable (once). */
  token_ttl_seconds: number;
  /** A session with no bytes either way for this long is closed (kubelet's and containerd's 4 h); 0: never. */
  idle_timeout_seconds: number;
}

export interface RegistrySettings {
  /** Endpoints (`host[:port]` or `http(s)://host[:port]`) used instead of this registry; no fallback. */
  mirrors?: string[];
  /** Plain HTTP or a self-signed certificate is acceptable (loopback registries always are). */
  insecure?: boolean;
}

export interface ImageSettings {
  /** Layers downloaded and unpacked at once. */
  unpack_concurrency: number;
  /** A docker-style config.json with registry credentials ("auths"); missing is fine. */
  auth_file: string;
  connect_timeout_seconds: number;
  /** A download with no byte for this long is retried (resuming where it stopped). */
  idle_timeout_seconds: number;
  /** Retries on 5xx and broken connections. */
  retries: number;
  /** Partial downloads older than this are removed at start; younger ones resume. */
  ingest_max_age_seconds: number;
  max_layer_bytes: number;
  max_layer_entries: number;
  /** Uncompressed bytes per compressed byte a layer may reach (a bomb guard). */
  max_compression_ratio: number;
  /** Bytes of files all layers of one pull may unpack to, together (a bomb guard no ratio slips under). */
  max_pull_bytes: number;
  /** Free bytes the image filesystem must keep while layers are written; a pull that would go below fails. */
  min_free_bytes: number;
  registries: Record<string, RegistrySettings>;
}

type DeepPartial<T> = T extends string | number | boolean | string[] | Record<string, RegistrySettings> | Record<string, CsiPluginSettings>
  ? T
  : { [K in keyof T]?: DeepPartial<T[K]> };

/** What a config file may hold: any subset of Config. */
export type ConfigFile = DeepPartial<Config>;

const absolutePath = { type: 'string', minLength: 1, pattern: '^/' } as const;
const nonEmpty = { type: 'string', minLength: 1 } as const;

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    root: absolutePath,
    state: absolutePath,
    socket: absolutePath,
    log_level: { enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] },
    cgroup_driver: { enum: ['auto', 'cgroupfs', 'systemd'] },
    runtime: {
      type: 'object',
      additionalProperties: false,
      properties: {
        default_handler: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]*$' },
        handlers: {
          type: 'object',
          propertyNames: { pattern: '^[a-z0-9][a-z0-9._-]*$' },
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            required: ['path'],
            properties: { path: nonEmpty },
          },
        },
      },
    },
    conmon: {
      type: 'object',
      additionalProperties: false,
      properties: { path: nonEmpty },
    },
    criu: {
      type: 'object',
      additionalProperties: false,
      properties: { path: nonEmpty },
    },
    cdi: {
      type: 'object',
      additionalProperties: false,
      properties: { spec_dirs: { type: 'array', items: absolutePath } },
    },
    cni: {
      type: 'object',
      additionalProperties: false,
      properties: {
        conf_dir: absolutePath,
        bin_dirs: { type: 'array', items: absolutePath, minItems: 1 },
        plugin_timeout_ms: { type: 'integer', minimum: 100, maximum: 600000 },
      },
    },
    sandbox: {
      type: 'object',
      additionalProperties: false,
      properties: {
        shm_size_bytes: { type: 'integer', minimum: 4096, maximum: 1099511627776 },
        infra_binary: nonEmpty,
      },
    },
    containers: {
      type: 'object',
      additionalProperties: false,
      properties: {
        pids_limit: { type: 'integer', minimum: 0 },
        log_size_max: { type: 'integer', minimum: -1 },
      },
    },
    csi: {
      type: 'object',
      additionalProperties: false,
      properties: {
        plugins: {
          type: 'object',
          propertyNames: { pattern: '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$' },
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            required: ['endpoint'],
            properties: {
              endpoint: absolutePath,
              binary: nonEmpty,
              args: { type: 'array', items: { type: 'string' }, maxItems: 256 },
              env: { type: 'object', propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }, additionalProperties: { type: 'string' } },
            },
          },
        },
        registration_dir: { anyOf: [{ const: '' }, absolutePath] },
        call_timeout_seconds: { type: 'integer', minimum: 1, maximum: 3600 },
        call_retries: { type: 'integer', minimum: 0, maximum: 10 },
        restart_backoff_ms: { type: 'integer', minimum: 10, maximum: 600000 },
      },
    },
    supervisor: {
      type: 'object',
      additionalProperties: false,
      properties: {
        backoff_base_ms: { type: 'integer', minimum: 10, maximum: 3600000 },
        backoff_max_ms: { type: 'integer', minimum: 10, maximum: 86400000 },
        tick_ms: { type: 'integer', minimum: 10, maximum: 60000 },
      },
    },
    image: {
      type: 'object',
      additionalProperties: false,
      properties: {
        unpack_concurrency: { type: 'integer', minimum: 1, maximum: 64 },
        auth_file: { type: 'string' },
        connect_timeout_seconds: { type: 'number', exclusiveMinimum: 0 },
        idle_timeout_seconds: { type: 'number', exclusiveMinimum: 0 },
        retries: { type: 'integer', minimum: 0, maximum: 20 },
        ingest_max_age_seconds: { type: 'number', minimum: 0 },
        max_layer_bytes: { type: 'integer', minimum: 1 },
        max_layer_entries: { type: 'integer', minimum: 1 },
        max_compression_ratio: { type: 'number', minimum: 1 },
        max_pull_bytes: { type: 'integer', minimum: 1 },
        min_free_bytes: { type: 'integer', minimum: 0 },
        registries: {
          type: 'object',
          propertyNames: { pattern: '^[A-Za-z0-9.\\[\\]:-]+$' },
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            properties: {
              mirrors: { type: 'array', items: { type: 'string', pattern: '^(https?://)?[A-Za-z0-9.\\[\\]:-]+/?$' } },
              insecure: { type: 'boolean' },
            },
          },
        },
      },
    },
    stream: {
      type: 'object',
      additionalProperties: false,
      properties: {
        address: nonEmpty,
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        tls_cert_file: { type: 'string' },
        tls_key_file: { type: 'string' },
        token_ttl_seconds: { type: 'number', exclusiveMinimum: 0, maximum: 3600 },
        idle_timeout_seconds: { type: 'number', minimum: 0, maximum: 604800 },
      },
    },
  },
} as const;

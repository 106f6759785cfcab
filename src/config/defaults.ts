import type { Config } from './schema.js';

export const DEFAULT_ROOT = '/var/lib/keelson';
export const DEFAULT_STATE = '/run/keelson';
export const DEFAULT_CONFIG_PATH = '/etc/keelson/config.toml';

export function socketIn(state: string): string {
  return `${state}/keelson.sock`;
}

export function defaultConfig(): Config {
  return {
    root: DEFAULT_ROOT,
    state: DEFAULT_STATE,
    socket: socketIn(DEFAULT_STATE),
    log_level: 'info',
    cgroup_driver: 'auto',
    runtime: {
      default_handler: 'runc',
      handlers: {
        runc: { path: 'runc' },
        crun: { path: 'crun' },
      },
    },
    conmon: { path: 'conmon' },
    criu: { path: 'criu' },
    cdi: { spec_dirs: ['/etc/cdi', '/var/run/cdi'] },
    cni: {
      conf_dir: '/etc/cni/net.d',
      bin_dirs: ['/opt/cni/bin', '/usr/lib/cni'],
      plugin_timeout_ms: 60_000,
    },
    sandbox: {
      shm_size_bytes: 64 * 1024 * 1024,
      infra_binary: 'catatonit',
    },
    containers: {
      pids_limit: 0,
      log_size_max: -1,
    },
    csi: {
      plugins: {},
      registration_dir: `${DEFAULT_ROOT}/plugins_registry`,
      call_timeout_seconds: 120,
      call_retries: 3,
      restart_backoff_ms: 1000,
    },
    supervisor: {
      backoff_base_ms: 10_000,
      backoff_max_ms: 300_000,
      tick_ms: 500,
    },
    image: {
      unpack_concurrency: 4,
      auth_file: '/root/.docker/config.json',
      connect_timeout_seconds: 30,
      idle_timeout_seconds: 60,
      retries: 4,
      ingest_max_age_seconds: 86400,
      max_layer_bytes: 64 * 1024 ** 3,
      max_layer_entries: 1_000_000,
      max_compression_ratio: 1000,
      max_pull_bytes: 128 * 1024 ** 3,
      min_free_bytes: 1024 ** 3,
      registries: {},
    },
    stream: {
      address: '127.0.0.1',
      port: 0,
      tls_cert_file: '',
      tls_key_file: '',
      token_ttl_seconds: 60,
      idle_timeout_seconds: 4 * 3600,
    },
  };
}

// Builds the streaming server over the container and sandbox services.
import type { Config } from '../config/schema.js';
import type { ContainerService } from '../container/service.js';
import { FailedPreconditionError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SandboxService } from '../sandbox/service.js';
import { StreamServer } from '../stream/server.js';

export async function startStreamServer(config: Config, containers: ContainerService, sandboxes: SandboxService, scratchDir: string,
  log: Logger): Promise<StreamServer> {
  const s = config.stream;
  const server = new StreamServer({
    address: s.address,
    port: s.port,
    ...(s.tls_cert_file && s.tls_key_file ? { tlsCertFile: s.tls_cert_file, tlsKeyFile: s.tls_key_file } : {}),
    tokenTtlMs: s.token_ttl_seconds * 1000,
    idleTimeoutMs: s.idle_timeout_seconds * 1000,
    log,
    backend: {
      execCommandLine: (id, cmd, tty, pidFile) => containers.execCommandLine(id, cmd, tty, pidFile),
      attachTarget: (id) => containers.attachTarget(id),
      scratchDir,
      sandboxNetns(sandboxId) {
        const record = sandboxes.get(sandboxId);
        if (!record || record.state !== 'SANDBOX_READY') throw new FailedPreconditionError(`pod sandbox ${sandboxId} is not ready`);
        return record.namespaces.net;
      },
    },
  });
  await server.listen();
  log.info({ url: server.baseUrlForLog() }, 'streaming server listening');
  return server;
}

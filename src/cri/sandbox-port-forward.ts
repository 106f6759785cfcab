import { FailedPreconditionError, InvalidArgumentError } from '../errors.js';
import type { SandboxService } from '../sandbox/service.js';
import type { StreamUrls } from '../stream/server.js';
import type { PortForwardRequest, PortForwardResponse } from './generated/cri-types.js';

/** PortForward: checks the sandbox is ready and the ports valid, then hands out a single-use URL. */
export function sandboxPortForward(sandboxes: SandboxService, stream: StreamUrls) {
  return async (req: PortForwardRequest): Promise<PortForwardResponse> => {
    if (!req.pod_sandbox_id) throw new InvalidArgumentError('pod_sandbox_id is required');
    const ports = req.port ?? [];
    for (const port of ports) {
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidArgumentError(`port ${port} is not in 1-65535`);
    }
    const sandbox = sandboxes.resolve(req.pod_sandbox_id);
    if (sandbox.state !== 'SANDBOX_READY') throw new FailedPreconditionError(`pod sandbox ${sandbox.id} is not ready`);
    return { url: stream.urlFor({ kind: 'portforward', sandboxId: sandbox.id, ports }) };
  };
}

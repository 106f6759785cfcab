import type { ContainerService } from '../container/service.js';
import { FailedPreconditionError, InvalidArgumentError } from '../errors.js';
import type { StreamUrls } from '../stream/server.js';
import type { AttachRequest, AttachResponse } from './generated/cri-types.js';

/** Attach: checks the container runs (with stdin open when stdin is asked), then hands out a URL. */
export function containerAttach(containers: ContainerService, stream: StreamUrls) {
  return async (req: AttachRequest): Promise<AttachResponse> => {
    if (!req.container_id) throw new InvalidArgumentError('container_id is required');
    if (req.tty && req.stderr) throw new InvalidArgumentError('tty and stderr cannot both be true');
    if (!req.stdin && !req.stdout && !req.stderr) throw new InvalidArgumentError('one of stdin, stdout, or stderr must be set');
    const container = await containers.runningContainer(req.container_id);
    if (req.stdin && !container.stdin) throw new FailedPreconditionError(`container ${container.id} was not created with stdin open`);
    return {
      url: stream.urlFor({
        kind: 'attach', containerId: container.id, tty: container.tty,
        stdin: req.stdin ?? false, stdout: req.stdout ?? false, stderr: (req.stderr ?? false) && !container.tty,
      }),
    };
  };
}

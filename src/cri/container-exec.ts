import type { ContainerService } from '../container/service.js';
import { InvalidArgumentError } from '../errors.js';
import type { StreamUrls } from '../stream/server.js';
import type { ExecRequest, ExecResponse } from './generated/cri-types.js';

/** Exec: checks the request and the container, then hands out a single-use streaming URL. */
export function containerExec(containers: ContainerService, stream: StreamUrls) {
  return async (req: ExecRequest): Promise<ExecResponse> => {
    if (!req.container_id) throw new InvalidArgumentError('container_id is required');
    const cmd = req.cmd ?? [];
    if (cmd.length === 0) throw new InvalidArgumentError('cmd is required');
    if (req.tty && req.stderr) throw new InvalidArgumentError('tty and stderr cannot both be true');
    if (!req.stdin && !req.stdout && !req.stderr) throw new InvalidArgumentError('one of stdin, stdout, or stderr must be set');
    const container = await containers.runningContainer(req.container_id);
    return {
      url: stream.urlFor({
        kind: 'exec', containerId: container.id, cmd, tty: req.tty ?? false,
        stdin: req.stdin ?? false, stdout: req.stdout ?? false, stderr: req.stderr ?? false,
      }),
    };
  };
}

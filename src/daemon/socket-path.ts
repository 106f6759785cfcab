import { lstat, mkdir, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { FailedPreconditionError } from '../errors.js';

/**
 * Makes the socket path ready to bind: a socket file nobody answers on is stale and goes;
 * a live socket or anything that is not a socket is left alone and refused.
 */
export async function prepareSocketPath(socketPath: string): Promise<void> {
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o755 });
  let info;
  try {
    info = await lstat(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!info.isSocket()) {
    throw new FailedPreconditionError(`${socketPath} exists and is not a socket; refusing to replace it`);
  }
  if (await answers(socketPath)) {
    throw new FailedPreconditionError(`socket ${socketPath} is in use by another process`);
  }
  await unlink(socketPath);
}

function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(socketPath);
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
    sock.setTimeout(2000, () => done(false));
  });
}

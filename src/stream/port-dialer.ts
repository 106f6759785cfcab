// Dials 127.0.0.1:port inside a pod's network namespace. Node cannot open a socket in another
// netns, so the addon does it (src/native.ts dialTcpInNetns: setns on a throwaway thread,
// socket, connect) and hands back the fd, which becomes an ordinary net.Socket here: no
// process per connection, and the bytes never leave the daemon. Host-network pods are dialed
// directly. Both are half-open sockets: the pod's FIN is 'end', ours is end().
import { Socket, connect } from 'node:net';
import { dialTcpInNetns } from '../native.js';

/** How long a connect to the pod may take (a SYN to a closed port answers RST at once). */
const CONNECT_TIMEOUT_MS = 10_000;

/** netns null: the pod uses the host's network. Rejects with the connect error (ECONNREFUSED...). */
export async function dialInNetns(netns: string | null, port: number): Promise<Socket> {
  if (netns === null) {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true, timeout: CONNECT_TIMEOUT_MS });
      socket.once('connect', () => { socket.setTimeout(0); resolve(socket); });
      socket.once('timeout', () => socket.destroy(Object.assign(new Error(`connect ETIMEDOUT 127.0.0.1:${port}`), { code: 'ETIMEDOUT' })));
      socket.once('error', reject);
    });
  }
  let fd: number;
  try {
    fd = await dialTcpInNetns(netns, port, CONNECT_TIMEOUT_MS);
  } catch (err) {
    // Worded as containerd does, without the daemon's netns path.
    const code = (err as { code?: unknown }).code;
    throw new Error(`dial tcp 127.0.0.1:${port}: connect ${typeof code === 'string' ? code : String(err)} in the pod's network`, { cause: err });
  }
  return new Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
}

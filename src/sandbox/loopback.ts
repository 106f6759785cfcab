// Every pod gets a working `lo`, whatever the CNI config holds: containers talk to each other
// over localhost, and a fresh network namespace starts with lo down. containerd and CRI-O do
// the same outside the configured chain.
import { execa } from 'execa';
import { messageOf } from '../errors.js';

export async function bringUpLoopback(netnsPath: string, timeoutMs: number): Promise<void> {
  try {
    await execa('nsenter', [`--net=${netnsPath}`, '--', 'ip', 'link', 'set', 'lo', 'up'], { timeout: timeoutMs, stdin: 'ignore' });
  } catch (err) {
    throw new Error(`cannot bring up lo in ${netnsPath}: ${messageOf(err)}`, { cause: err });
  }
}

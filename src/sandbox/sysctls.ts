// Namespaced sysctls: checked strictly (CVE-2022-0811 smuggled a second sysctl through a value
// with '+' and '='), then written inside the pod's namespaces by `sysctl -w` under nsenter.
import { execa } from 'execa';
import { InvalidArgumentError, messageOf } from '../errors.js';

const NAME = /^[a-z0-9_]+(?:[./][a-zA-Z0-9_-]+)+$/;
const VALUE = /^[ -~]*$/; // printable ASCII
const MAX_VALUE = 4096;

/** Which namespace a sysctl belongs to; null when it is not namespaced (the host's). */
export function sysctlNamespace(name: string): 'net' | 'ipc' | null {
  const n = name.replace(/\//g, '.');
  if (n.startsWith('net.')) return 'net';
  if (/^kernel\.(shm_rmid_forced|shmall|shmmax|shmmni|msgmax|msgmnb|msgmni|sem)$/.test(n)) return 'ipc';
  if (n.startsWith('fs.mqueue.')) return 'ipc';
  return null;
}

/**
 * Throws InvalidArgument naming the sysctl when its name or value is not allowed, or when
 * the pod shares the namespace it lives in with the host.
 */
export function checkSysctls(sysctls: Record<string, string>, opts: { hostNetwork: boolean; hostIpc: boolean }): void {
  for (const [name, value] of Object.entries(sysctls)) {
    if (!NAME.test(name) || name.includes('..')) throw new InvalidArgumentError(`sysctl name ${JSON.stringify(name)} is not a sysctl name`);
    if (typeof value !== 'string' || value.length > MAX_VALUE || !VALUE.test(value) || /[=+\n\r\0]/.test(value)) {
      throw new InvalidArgumentError(`sysctl ${name} has a value that is not allowed (no "=", "+", newline or control characters): ${JSON.stringify(String(value).slice(0, 100))}`);
    }
    const ns = sysctlNamespace(name);
    if (ns === null) throw new InvalidArgumentError(`sysctl ${name} is not namespaced; a pod may only set net.*, kernel.shm*, kernel.msg*, kernel.sem and fs.mqueue.*`);
    if (ns === 'net' && opts.hostNetwork) throw new InvalidArgumentError(`sysctl ${name} needs the pod's own network namespace, but the pod uses the host network`);
    if (ns === 'ipc' && opts.hostIpc) throw new InvalidArgumentError(`sysctl ${name} needs the pod's own IPC namespace, but the pod uses the host IPC namespace`);
  }
}

/** Writes the sysctls in one `sysctl -w` run inside the pinned namespaces. */
export async function applySysctls(sysctls: Record<string, string>, ns: { net: string | null; ipc: string | null },
  timeoutMs: number): Promise<void> {
  const entries = Object.entries(sysctls);
  if (entries.length === 0) return;
  const nsArgs: string[] = [];
  if (ns.net) nsArgs.push(`--net=${ns.net}`);
  if (ns.ipc) nsArgs.push(`--ipc=${ns.ipc}`);
  // sysctl(8) accepts '/' as separator only when the whole name uses it; normalise to dots
  // except where a segment (an interface name) itself holds a dot, which '/' form keeps.
  const assignments = entries.map(([name, value]) => `${name}=${value}`);
  try {
    await execa('nsenter', [...nsArgs, '--', 'sysctl', '-q', '-w', ...assignments], { timeout: timeoutMs, stdin: 'ignore' });
  } catch (err) {
    const stderr = (err as { stderr?: unknown }).stderr;
    throw new InvalidArgumentError(`cannot set sysctls ${entries.map(([n]) => n).join(', ')} in the pod: ${typeof stderr === 'string' && stderr ? stderr.trim() : messageOf(err)}`);
  }
}

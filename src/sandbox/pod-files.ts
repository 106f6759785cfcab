// The files a pod's containers mount: /etc/resolv.conf, /etc/hosts, /etc/hostname and a
// /dev/shm tmpfs, all kept per sandbox.
import { isIP } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { InvalidArgumentError } from '../errors.js';
import { mountFilesystem, umount } from '../native.js';

export interface DnsConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

const SEARCH_DOMAIN = /^[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,62})(\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,62}))*\.?$/;
const DNS_OPTION = /^[a-zA-Z0-9_.:-]{1,64}$/;
const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Checks a DNSConfig: servers are IPs, searches are domains (at most 32), options are plain words. */
export function checkDnsConfig(dns: DnsConfig): void {
  for (const s of dns.servers) if (isIP(s) === 0) throw new InvalidArgumentError(`dns_config.servers: ${JSON.stringify(s)} is not an IP address`);
  if (dns.searches.length > 32) throw new InvalidArgumentError(`dns_config.searches has ${dns.searches.length} entries; at most 32 are allowed`);
  for (const s of dns.searches) {
    if (s.length > 253 || !SEARCH_DOMAIN.test(s)) throw new InvalidArgumentError(`dns_config.searches: ${JSON.stringify(s)} is not a domain name`);
  }
  for (const o of dns.options) if (!DNS_OPTION.test(o)) throw new InvalidArgumentError(`dns_config.options: ${JSON.stringify(o)} is not a resolver option`);
}

export function checkHostname(hostname: string): void {
  if (hostname.length > 253 || !HOSTNAME.test(hostname) || hostname.split('.').some((l) => l.length > 63)) {
    throw new InvalidArgumentError(`hostname ${JSON.stringify(hostname)} is not a valid RFC 1123 host name`);
  }
}

/** resolv.conf from the pod's DNSConfig, or the host's own when the pod gave none. */
export async function resolvConfText(dns: DnsConfig | null, hostResolvConf = '/etc/resolv.conf'): Promise<string> {
  if (!dns || (dns.servers.length === 0 && dns.searches.length === 0 && dns.options.length === 0)) {
    try {
      return await readFile(hostResolvConf, 'utf8');
    } catch {
      return '';
    }
  }
  const lines: string[] = [];
  if (dns.searches.length > 0) lines.push(`search ${dns.searches.join(' ')}`);
  for (const s of dns.servers) lines.push(`nameserver ${s}`);
  if (dns.options.length > 0) lines.push(`options ${dns.options.join(' ')}`);
  return lines.join('\n') + '\n';
}

/** /etc/hosts of a pod with its own network: loopback names, then its IPs with its hostname. */
export function hostsText(hostname: string, ips: readonly string[]): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
  ];
  for (const ip of ips) lines.push(`${ip}\t${hostname}`);
  return lines.join('\n') + '\n';
}

export async function writePodFile(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o644 });
}

/** A tmpfs of the given size for the pod's /dev/shm. */
export async function mountShm(target: string, sizeBytes: number): Promise<void> {
  await mountFilesystem(target, 'tmpfs', [['source', 'shm'], ['size', String(sizeBytes)], ['mode', '1777']],
    ['nosuid', 'nodev', 'noexec']);
}

/** Unmounts the pod's shm; a target that is not mounted (or gone) is fine. */
export async function unmountShm(target: string): Promise<void> {
  try {
    await umount(target, { detach: true, noFollow: true });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'EINVAL' && code !== 'ENOENT') throw err;
  }
}

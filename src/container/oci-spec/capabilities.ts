// Capability sets from the CRI's add/drop lists over containerd's default 14 (Docker's set).
// ALL_CAPABILITIES is in kernel bit order (CAP_CHOWN is bit 0), so a /proc status mask maps onto it.

import { InvalidArgumentError } from '../../errors.js';
import type { OciCapabilities } from './oci-types.js';

export const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT',
  'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

const KNOWN: ReadonlySet<string> = new Set(ALL_CAPABILITIES);

/** "chown", "CHOWN", "CAP_CHOWN" -> "CAP_CHOWN"; "ALL" stays "ALL". */
export function normalizeCapability(name: string, field: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!KNOWN.has(full)) throw new InvalidArgumentError(`${field}: unknown capability "${name}"`);
  return full;
}

export interface CapabilityRequest {
  add?: string[] | undefined;
  drop?: string[] | undefined;
  ambient?: string[] | undefined;
  privileged?: boolean | undefined;
}

/**
 * The process capabilities; the inheritable set is always empty (CVE-2022-24769).
 * `available` is what the daemon itself holds: what "all" means for a privileged container
 * or `add ALL`, as in containerd and CRI-O (asking runc for one the daemon lacks fails).
 */
export function buildCapabilities(req: CapabilityRequest, available: readonly string[] = ALL_CAPABILITIES): OciCapabilities {
  const add = (req.add ?? []).map((c) => normalizeCapability(c, 'capabilities.add_capabilities'));
  const drop = (req.drop ?? []).map((c) => normalizeCapability(c, 'capabilities.drop_capabilities'));
  const ambient = (req.ambient ?? []).map((c) => normalizeCapability(c, 'capabilities.add_ambient_capabilities'))
    .filter((c) => c !== 'ALL');
  let caps: string[];
  const all = ALL_CAPABILITIES.filter((c) => available.includes(c));
  if (req.privileged) {
    caps = all;
  } else {
    caps = add.includes('ALL') ? [...all] : [...DEFAULT_CAPABILITIES];
    if (drop.includes('ALL')) caps = [];
    for (const c of add) if (c !== 'ALL' && !caps.includes(c)) caps.push(c);
    caps = caps.filter((c) => !drop.includes(c));
  }
  const amb = ambient.filter((c) => caps.includes(c));
  return { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: amb };
}

/** The capability names of a /proc/<pid>/status mask such as CapEff ("000001ffffffffff"). */
export function capabilitiesFromMask(hex: string): string[] {
  const mask = BigInt(`0x${hex.trim() || '0'}`);
  return ALL_CAPABILITIES.filter((_, bit) => ((mask >> BigInt(bit)) & 1n) === 1n);
}

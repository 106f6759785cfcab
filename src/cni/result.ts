// The result of an ADD, checked with ajv before anything uses it (a plugin's output is
// input from outside). 0.3.x/0.4.0 results carry "version" on each IP; 1.x do not.
import { isIP } from 'node:net';
import { Ajv } from 'ajv';

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
}

export interface CniIpConfig {
  address: string;
  gateway?: string;
  interface?: number;
  version?: string;
}

export interface CniRoute {
  dst: string;
  gw?: string;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIpConfig[];
  routes?: CniRoute[];
  dns?: CniDns;
  [key: string]: unknown;
}

const strList = { type: 'array', items: { type: 'string', maxLength: 1024 }, maxItems: 1024 } as const;

const resultSchema = {
  type: 'object',
  required: ['cniVersion'],
  properties: {
    cniVersion: { type: 'string', maxLength: 32 },
    interfaces: {
      type: 'array',
      maxItems: 1024,
      items: {
        type: 'object',
        required: ['name'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 256 },
          mac: { type: 'string', maxLength: 64 },
          mtu: { type: 'integer', minimum: 0 },
          sandbox: { type: 'string', maxLength: 4096 },
        },
      },
    },
    ips: {
      type: 'array',
      maxItems: 1024,
      items: {
        type: 'object',
        required: ['address'],
        properties: {
          address: { type: 'string', minLength: 3, maxLength: 64 },
          gateway: { type: 'string', maxLength: 64 },
          interface: { type: 'integer', minimum: 0 },
          version: { enum: ['4', '6'] },
        },
      },
    },
    routes: {
      type: 'array',
      maxItems: 4096,
      items: {
        type: 'object',
        required: ['dst'],
        properties: { dst: { type: 'string', maxLength: 64 }, gw: { type: 'string', maxLength: 64 } },
      },
    },
    dns: {
      type: 'object',
      properties: {
        nameservers: strList,
        domain: { type: 'string', maxLength: 1024 },
        search: strList,
        options: strList,
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: false, strict: false });
const validate = ajv.compile<CniResult>(resultSchema);

/** Validates a plugin's ADD output; throws naming the first problem. */
export function parseCniResult(doc: unknown): CniResult {
  if (!validate(doc)) {
    const e = validate.errors?.[0];
    throw new Error(`result is not a valid CNI result: ${e ? `${e.instancePath || '/'} ${e.message ?? ''}` : 'invalid'}`);
  }
  for (const [i, ip] of (doc.ips ?? []).entries()) {
    const [addr, prefix] = ip.address.split('/');
    if (!addr || isIP(addr) === 0 || prefix === undefined || !/^\d{1,3}$/.test(prefix)) {
      throw new Error(`result is not a valid CNI result: ips[${i}].address ${JSON.stringify(ip.address)} is not an address/prefix`);
    }
  }
  return doc;
}

/**
 * The pod's IPs: addresses on an interface inside the sandbox (or with no interface index),
 * without the prefix length, IPv4 first as kubelet expects the primary IP.
 */
export function podIpsOf(result: CniResult): string[] {
  const ifaces = result.interfaces ?? [];
  const ips = (result.ips ?? [])
    .filter((ip) => ip.interface === undefined || ifaces[ip.interface] === undefined || (ifaces[ip.interface]?.sandbox ?? '') !== '')
    .map((ip) => ip.address.split('/')[0] as string);
  return [...ips.filter((a) => isIP(a) === 4), ...ips.filter((a) => isIP(a) === 6)];
}

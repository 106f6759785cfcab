// An OCI runtime-spec config schema for the parts keelson emits, checked with ajv before the
// runtime sees a config: a builder bug becomes a clear error instead of a runtime crash.

import { Ajv } from 'ajv';
import { KeelsonError } from '../../errors.js';
import type { OciSpec } from './oci-types.js';

const str = { type: 'string' } as const;
const strings = { type: 'array', items: str } as const;
const absPath = { type: 'string', pattern: '^/' } as const;
const uint32 = { type: 'integer', minimum: 0, maximum: 4294967295 } as const;
const int32id = { type: 'integer', minimum: 0, maximum: 2147483647 } as const;
const int64 = { type: 'integer' } as const;

const capList = { type: 'array', items: { type: 'string', pattern: '^CAP_[A-Z_]+$' }, uniqueItems: true } as const;

export const ociConfigSchema = {
  type: 'object',
  required: ['ociVersion', 'process', 'root', 'mounts', 'linux'],
  additionalProperties: false,
  properties: {
    ociVersion: { type: 'string', pattern: '^1\\.' },
    hostname: str,
    annotations: { type: 'object', additionalProperties: str },
    root: {
      type: 'object', required: ['path'], additionalProperties: false,
      properties: { path: { type: 'string', minLength: 1 }, readonly: { type: 'boolean' } },
    },
    process: {
      type: 'object', required: ['args', 'cwd', 'user'], additionalProperties: false,
      properties: {
        terminal: { type: 'boolean' },
        args: { type: 'array', items: str, minItems: 1 },
        env: { type: 'array', items: { type: 'string', pattern: '^[^=\\n\\u0000]+=' } },
        cwd: absPath,
        noNewPrivileges: { type: 'boolean' },
        oomScoreAdj: { type: 'integer', minimum: -1000, maximum: 1000 },
        apparmorProfile: str,
        user: {
          type: 'object', required: ['uid', 'gid'], additionalProperties: false,
          properties: { uid: int32id, gid: int32id, umask: uint32, additionalGids: { type: 'array', items: int32id } },
        },
        capabilities: {
          type: 'object', additionalProperties: false,
          properties: { bounding: capList, effective: capList, permitted: capList, inheritable: capList, ambient: capList },
        },
        rlimits: { type: 'array', items: {
          type: 'object', required: ['type', 'hard', 'soft'], additionalProperties: false,
          properties: { type: { type: 'string', pattern: '^RLIMIT_' }, hard: int64, soft: int64 },
        } },
      },
    },
    mounts: { type: 'array', items: {
      type: 'object', required: ['destination'], additionalProperties: false,
      properties: { destination: absPath, type: str, source: str, options: strings },
    } },
    linux: {
      type: 'object', additionalProperties: false,
      properties: {
        cgroupsPath: str,
        rootfsPropagation: { enum: ['private', 'shared', 'slave', 'unbindable', 'rprivate', 'rshared', 'rslave', 'runbindable'] },
        maskedPaths: { type: 'array', items: absPath },
        readonlyPaths: { type: 'array', items: absPath },
        sysctl: { type: 'object', additionalProperties: str },
        namespaces: { type: 'array', items: {
          type: 'object', required: ['type'], additionalProperties: false,
          properties: { type: { enum: ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup'] }, path: absPath },
        } },
        devices: { type: 'array', items: {
          type: 'object', required: ['type', 'path'], additionalProperties: false,
          properties: { type: { enum: ['c', 'b', 'u', 'p'] }, path: absPath, major: int64, minor: int64,
            fileMode: uint32, uid: uint32, gid: uint32 },
        } },
        resources: {
          type: 'object', additionalProperties: false,
          properties: {
            devices: { type: 'array', items: {
              type: 'object', required: ['allow'], additionalProperties: false,
              properties: { allow: { type: 'boolean' }, type: { enum: ['a', 'c', 'b'] }, major: int64, minor: int64,
                access: { type: 'string', pattern: '^[rwm]{1,3}$' } },
            } },
            memory: { type: 'object', additionalProperties: false, properties: { limit: int64, swap: int64 } },
            cpu: { type: 'object', additionalProperties: false,
              properties: { shares: int64, quota: int64, period: int64, cpus: str, mems: str } },
            pids: { type: 'object', required: ['limit'], additionalProperties: false, properties: { limit: int64 } },
            hugepageLimits: { type: 'array', items: {
              type: 'object', required: ['pageSize', 'limit'], additionalProperties: false,
              properties: { pageSize: str, limit: int64 },
            } },
            unified: { type: 'object', additionalProperties: str },
          },
        },
        seccomp: {
          type: 'object', required: ['defaultAction'], additionalProperties: false,
          properties: {
            defaultAction: { type: 'string', pattern: '^SCMP_ACT_' },
            defaultErrnoRet: uint32,
            architectures: { type: 'array', items: { type: 'string', pattern: '^SCMP_ARCH_' } },
            flags: strings,
            listenerPath: str,
            syscalls: { type: 'array', items: {
              type: 'object', required: ['names', 'action'],
              properties: { names: { type: 'array', items: str, minItems: 1 }, action: { type: 'string', pattern: '^SCMP_ACT_' },
                errnoRet: uint32, args: { type: 'array' } },
            } },
          },
        },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: false });
const check = ajv.compile<OciSpec>(ociConfigSchema);

export function validateSpec(spec: unknown): asserts spec is OciSpec {
  if (check(spec)) return;
  const errors = (check.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
  throw new KeelsonError('Internal', `the OCI config keelson built is invalid: ${errors.join('; ')}`);
}

import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxView } from '../../../src/container/dependencies.js';
import { resolveLogPath } from '../../../src/container/logs.js';
import { buildSpec, type SpecInput } from '../../../src/container/oci-spec/build.js';
import { RuncCli } from '../../../src/runtime/runc.js';
import { ALL_CAPABILITIES, buildCapabilities, capabilitiesFromMask, DEFAULT_CAPABILITIES } from '../../../src/container/oci-spec/capabilities.js';
import { mergeArgs, mergeEnv, resolveWorkingDir } from '../../../src/container/oci-spec/process.js';
import { clampOomScoreAdj } from '../../../src/container/oci-spec/resources.js';
import { readRootfsFile } from '../../../src/container/oci-spec/rootfs-file.js';
import { checkProfile, forSpec, parseKernelVersion, runtimeDefaultSeccomp, seccompFor } from '../../../src/container/oci-spec/seccomp.js';
import { parseGroup, parsePasswd, resolveUser } from '../../../src/container/oci-spec/user.js';
import { validateSpec } from '../../../src/container/oci-spec/validate.js';
import type { ContainerRequest } from '../../../src/container/types.js';

const PASSWD = parsePasswd('root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n');
const GROUP = parseGroup('root:x:0:\nuser:x:1000:\nextra:x:2000:user\nother:x:3000:root,user\n');

describe('command, args, env, working dir', () => {
  const image = { Entrypoint: ['/entry'], Cmd: ['default-arg'], Env: ['PATH=/bin', 'A=image', 'B=image'], WorkingDir: '/work' };
  it('command replaces Entrypoint and drops Cmd; args replace Cmd', () => {
    expect(mergeArgs(image, [], [])).toEqual(['/entry', 'default-arg']);
    expect(mergeArgs(image, ['/cmd'], [])).toEqual(['/cmd']);
    expect(mergeArgs(image, [], ['x'])).toEqual(['/entry', 'x']);
    expect(mergeArgs(image, ['/cmd'], ['y'])).toEqual(['/cmd', 'y']);
    expect(() => mergeArgs({}, [], [])).toThrow(/no command/);
  });
  it('CRI envs override the image env by name, in first-seen order', () => {
    expect(mergeEnv(image, [{ key: 'B', value: 'cri' }, { key: 'C', value: 'new' }], [{ key: 'HOME', value: '/root' }]))
      .toEqual(['PATH=/bin', 'A=image', 'B=cri', 'C=new', 'HOME=/root']);
    expect(mergeEnv(image, [{ key: 'HOME', value: '/mine' }], [{ key: 'HOME', value: '/root' }])).toContain('HOME=/mine');
  });
  it('refuses env names with NUL, newline or "="', () => {
    expect(() => mergeEnv({}, [{ key: 'A\nB', value: '' }])).toThrow(/newline/);
    expect(() => mergeEnv({}, [{ key: 'A\0', value: '' }])).toThrow(/NUL/);
    expect(() => mergeEnv({}, [{ key: 'A=B', value: '' }])).toThrow(/"="/);
    expect(() => mergeEnv({ Env: ['BAD\nNAME=1'] }, [])).toThrow(/image config Env/);
  });
  it('working dir: CRI, then image, then /; never under /proc/*/fd (CVE-2024-21626)', () => {
    expect(resolveWorkingDir(image, '')).toBe('/work');
    expect(resolveWorkingDir(image, '/x/../y')).toBe('/y');
    expect(resolveWorkingDir({}, '')).toBe('/');
    for (const bad of ['/proc/self/fd/7', '/proc/thread-self/fd/3', '/proc/1/fd/8/..', '/proc/self/fd']) {
      expect(() => resolveWorkingDir({}, bad)).toThrow(/proc/);
    }
    expect(() => resolveWorkingDir({ WorkingDir: '/proc/self/fd/7' }, '')).toThrow(/proc/);
    expect(() => resolveWorkingDir({}, 'relative')).toThrow(/absolute/);
  });
});

describe('capabilities', () => {
  it('defaults to containerd\'s 14 with an empty inheritable set', () => {
    const caps = buildCapabilities({});
    expect(caps.bounding).toHaveLength(14);
    expect(caps.bounding).toEqual(DEFAULT_CAPABILITIES);
    expect(caps.inheritable).toEqual([]);
    expect(caps.effective).toEqual(caps.permitted);
  });
  it('adds and drops, with or without the CAP_ prefix, including ALL', () => {
    expect(buildCapabilities({ add: ['sys_admin'], drop: ['CAP_CHOWN'] }).bounding).toEqual(
      [...DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_CHOWN'), 'CAP_SYS_ADMIN']);
    expect(buildCapabilities({ drop: ['ALL'] }).bounding).toEqual([]);
    expect(buildCapabilities({ drop: ['ALL'], add: ['NET_BIND_SERVICE'] }).bounding).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(buildCapabilities({ add: ['ALL'], drop: ['SYS_ADMIN'] }).bounding).not.toContain('CAP_SYS_ADMIN');
    expect(buildCapabilities({ add: ['ALL'] }).bounding.length).toBeGreaterThan(38);
    expect(buildCapabilities({ privileged: true, drop: ['ALL'] }).bounding.length).toBeGreaterThan(38);
    expect(buildCapabilities({ privileged: true }).inheritable).toEqual([]);
    expect(() => buildCapabilities({ add: ['CAP_FLY'] })).toThrow(/unknown capability "CAP_FLY"/);
  });
});

describe('users and groups', () => {
  it('resolves the image USER forms', () => {
    expect(resolveUser({ imageUser: 'user' }, PASSWD, GROUP)).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 2000, 3000], home: '/home/user' });
    expect(resolveUser({ imageUser: '1000:2000' }, PASSWD, GROUP)).toMatchObject({ uid: 1000, gid: 2000, additionalGids: [2000, 3000] });
    expect(resolveUser({ imageUser: 'user:extra' }, PASSWD, GROUP)).toMatchObject({ gid: 2000 });
    expect(resolveUser({ imageUser: '4242' }, PASSWD, GROUP)).toEqual({ uid: 4242, gid: 0, additionalGids: [0], home: '/' });
    expect(resolveUser({}, PASSWD, GROUP)).toMatchObject({ uid: 0, gid: 0, additionalGids: [0, 3000], home: '/root' });
    expect(() => resolveUser({ imageUser: 'ghost' }, PASSWD, GROUP)).toThrow(/ghost/);
    expect(() => resolveUser({ imageUser: 'user:ghosts' }, PASSWD, GROUP)).toThrow(/ghosts/);
  });
  it('CRI run_as_* wins over the image; supplementary groups are added', () => {
    expect(resolveUser({ imageUser: 'user', runAsUser: 0 }, PASSWD, GROUP)).toMatchObject({ uid: 0, gid: 0 });
    expect(resolveUser({ runAsUsername: 'user', runAsGroup: 5, supplementalGroups: [7, 2000] }, PASSWD, GROUP))
      .toMatchObject({ uid: 1000, gid: 5, additionalGids: [5, 2000, 3000, 7] });
    expect(() => resolveUser({ runAsUsername: 'ghost' }, PASSWD, GROUP)).toThrow(/ghost/);
  });
  it('the Strict policy leaves out the image\'s /etc/group memberships', () => {
    expect(resolveUser({ runAsUsername: 'user', supplementalGroups: [7], strictGroups: true }, PASSWD, GROUP))
      .toMatchObject({ gid: 1000, additionalGids: [1000, 7] });
  });
  it('refuses ids above int32 max (CVE-2024-40635)', () => {
    expect(() => resolveUser({ imageUser: '2147483648' }, PASSWD, GROUP)).toThrow(/not a valid id/);
    expect(() => resolveUser({ imageUser: '0:4294967296' }, PASSWD, GROUP)).toThrow(/not a valid id/);
    expect(() => resolveUser({ runAsUser: 2147483648 }, PASSWD, GROUP)).toThrow(/not a valid id/);
    expect(() => resolveUser({ runAsUser: -1 }, PASSWD, GROUP)).toThrow(/not a valid id/);
    expect(() => resolveUser({ runAsUser: 0, supplementalGroups: [2 ** 31] }, PASSWD, GROUP)).toThrow(/not a valid id/);
    expect(resolveUser({ runAsUser: 2147483647 }, PASSWD, GROUP).uid).toBe(2147483647);
  });
});

describe('files read inside a rootfs', () => {
  let root: string;
  let outside: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'keelson-rootfs-unit-'));
    outside = await mkdtemp(join(tmpdir(), 'keelson-outside-'));
    await writeFile(join(outside, 'passwd'), 'evil:x:0:0::/:/bin/sh\n');
    await mkdir(join(root, 'etc'));
    await mkdir(join(root, 'real'));
    await writeFile(join(root, 'real', 'group'), 'inside:x:1:\n');
    await symlink(join(outside, 'passwd'), join(root, 'etc', 'passwd')); // absolute: re-rooted
    await symlink('../../../../../real/group', join(root, 'etc', 'group')); // climbs: clamped at the root
    await symlink('loop', join(root, 'etc', 'loop'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });
  it('never follows a symlink out of the rootfs', async () => {
    expect(await readRootfsFile(root, '/etc/passwd')).toBeNull();
    expect(await readRootfsFile(root, '/etc/group')).toBe('inside:x:1:\n');
    expect(await readRootfsFile(root, '/etc/loop')).toBeNull();
    expect(await readRootfsFile(root, '/../../etc/group')).toBe('inside:x:1:\n');
  });
});

describe('log path', () => {
  it('stays inside the log directory', () => {
    expect(resolveLogPath('/var/log/pods/p', 'c/0.log', '/fb')).toBe('/var/log/pods/p/c/0.log');
    expect(resolveLogPath(null, 'c.log', '/fb')).toBe('/fb');
    expect(() => resolveLogPath('/var/log/pods/p', '../q/0.log', '/fb')).toThrow(/leaves the log directory/);
    expect(() => resolveLogPath('/var/log/pods/p', '/etc/passwd', '/fb')).toThrow(/relative/);
    expect(() => resolveLogPath('/var/log/pods/p', 'a/../../x', '/fb')).toThrow(/leaves/);
  });
});

describe('seccomp', () => {
  it('RuntimeDefault: errno EPERM by default, blocks the dangerous syscalls, allows the common ones', () => {
    const p = forSpec(runtimeDefaultSeccomp(), DEFAULT_CAPABILITIES);
    expect(p.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(p.defaultErrnoRet).toBe(1);
    const allowed = new Set((p.syscalls ?? []).filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args).flatMap((r) => r.names));
    for (const name of ['read', 'write', 'openat', 'execve', 'clone', 'futex', 'epoll_wait', 'socket', 'exit_group']) {
      if (name !== 'clone') expect(allowed, name).toContain(name);
    }
    for (const name of ['keyctl', 'add_key', 'request_key', 'kcmp', 'process_vm_readv', 'mount', 'umount2', 'unshare', 'setns', 'reboot',
      'kexec_load', 'init_module', 'finit_module', 'delete_module', 'bpf', 'perf_event_open', 'swapon', 'pivot_root', 'open_by_handle_at']) {
      expect(allowed, name).not.toContain(name);
    }
    const clone = (p.syscalls ?? []).find((r) => r.names.includes('clone'));
    expect(clone?.args?.[0]).toMatchObject({ index: 0, value: 0x7e020000, op: 'SCMP_CMP_MASKED_EQ' });
    expect((p.syscalls ?? []).find((r) => r.names.includes('clone3'))).toMatchObject({ action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
  });
  it('Localhost reads a JSON profile from an absolute path; Unconfined and privileged give none', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keelson-seccomp-'));
    try {
      await writeFile(join(dir, 'p.json'), JSON.stringify({ defaultAction: 'SCMP_ACT_LOG', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] }));
      await writeFile(join(dir, 'bad.json'), '{nope');
      expect(await seccompFor({ type: 'Localhost', localhostRef: join(dir, 'p.json') }, false)).toMatchObject({ defaultAction: 'SCMP_ACT_LOG' });
      expect(await seccompFor({ type: 'Localhost', localhostRef: `localhost/${join(dir, 'p.json')}` }, false)).not.toBeNull();
      await expect(seccompFor({ type: 'Localhost', localhostRef: join(dir, 'bad.json') }, false)).rejects.toThrow(/not JSON/);
      await expect(seccompFor({ type: 'Localhost', localhostRef: join(dir, 'missing.json') }, false)).rejects.toThrow(/not a file/);
      await expect(seccompFor({ type: 'Localhost', localhostRef: 'relative.json' }, false)).rejects.toThrow(/absolute/);
      expect(await seccompFor({ type: 'Unconfined' }, false)).toBeNull();
      expect(await seccompFor({ type: 'RuntimeDefault' }, true)).toBeNull();
      // Privileged runs unconfined even when a profile is named (critest: a profile blocking sethostname is ignored).
      expect(await seccompFor({ type: 'Localhost', localhostRef: join(dir, 'p.json') }, true)).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('a Localhost profile must have the right shape', () => {
    expect(() => checkProfile({}, 'x')).toThrow(/defaultAction/);
    expect(() => checkProfile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: {} }, 'x')).toThrow(/list/);
    expect(() => checkProfile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ action: 'SCMP_ACT_ERRNO' }] }, 'x')).toThrow(/names/);
    expect(checkProfile({ defaultAction: 'SCMP_ACT_ALLOW', extra: 1 }, 'x')).toEqual({ defaultAction: 'SCMP_ACT_ALLOW' });
  });
});

describe('oom_score_adj', () => {
  it('is clamped to the daemon\'s own value (no CAP_SYS_RESOURCE)', () => {
    expect(clampOomScoreAdj(-999, 0)).toEqual({ value: 0, clamped: true });
    expect(clampOomScoreAdj(500, 0)).toEqual({ value: 500, clamped: false });
    expect(clampOomScoreAdj(undefined, -500)).toEqual({ value: 0, clamped: false });
    expect(() => clampOomScoreAdj(1001, 0)).toThrow(/outside/);
  });
});

function sandbox(): SandboxView {
  return {
    id: 'pod1', hostname: 'p', metadata: { name: 'p', namespace: 'default', uid: 'u', attempt: 0 }, state: 'SANDBOX_READY', runtimeHandler: 'runc',
    namespaces: { net: '/run/ns/net', ipc: '/run/ns/ipc', uts: null }, pidMode: 'container', podPidNamespace: null,
    cgroupParent: '/kubepods/pod1', files: { hostname: '/p/hostname', hosts: '/p/hosts', resolvConf: '/p/resolv.conf', shm: '/p/shm' },
    logDirectory: '/logs', labels: {}, annotations: {},
  };
}

function request(o: Partial<ContainerRequest> = {}): ContainerRequest {
  return {
    name: 'c', attempt: 0, image: 'i', command: ['sh'], args: [], workingDir: '', envs: [], mounts: [], devices: [], labels: {},
    annotations: {}, logPath: 'c.log', stdin: false, stdinOnce: false, tty: false, resources: {},
    security: { privileged: false, capabilities: {}, supplementalGroups: [], readonlyRootfs: false, noNewPrivs: true,
      seccomp: { type: 'RuntimeDefault' }, apparmor: { type: 'RuntimeDefault' } },
    ...o,
  };
}

function input(o: Partial<SpecInput> = {}): SpecInput {
  return {
    id: 'abc', request: request(), image: { Env: ['PATH=/bin'] }, sandbox: sandbox(), rootfs: '/rootfs',
    user: { uid: 1000, gid: 1000, additionalGids: [1000], home: '/home/user' }, devices: [], seccomp: runtimeDefaultSeccomp(),
    apparmorProfile: null, oomScoreFloor: 0, pidsLimit: 0, hostCapabilities: ALL_CAPABILITIES, ...o,
  };
}

describe('the whole spec', () => {
  it('joins the pod namespaces by path, mounts the pod files, masks /proc and validates', () => {
    const { spec } = buildSpec(input());
    expect(spec.linux.namespaces).toEqual([{ type: 'mount' }, { type: 'network', path: '/run/ns/net' }, { type: 'ipc', path: '/run/ns/ipc' }, { type: 'pid' }]);
    const dests = spec.mounts.map((m) => m.destination);
    for (const d of ['/proc', '/dev', '/dev/pts', '/dev/mqueue', '/sys', '/sys/fs/cgroup', '/etc/hostname', '/etc/hosts', '/etc/resolv.conf', '/dev/shm']) {
      expect(dests).toContain(d);
    }
    expect(spec.mounts.find((m) => m.destination === '/dev/shm')?.source).toBe('/p/shm');
    expect(spec.linux.maskedPaths).toContain('/proc/kcore');
    expect(spec.linux.readonlyPaths).toContain('/proc/sys');
    expect(spec.linux.cgroupsPath).toBe('/kubepods/pod1/keelson-abc');
    expect(spec.process.env).toEqual(['PATH=/bin', 'HOME=/home/user', 'HOSTNAME=p']);
    expect(spec.process.noNewPrivileges).toBe(true);
    expect(spec.linux.seccomp?.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(spec.linux.resources.devices?.[0]).toEqual({ allow: false, access: 'rwm' });
  });
  it('pid namespace per mode; the pod mode needs the pod namespace', () => {
    const pod = { ...sandbox(), pidMode: 'pod' as const, podPidNamespace: '/proc/42/ns/pid' };
    expect(buildSpec(input({ sandbox: pod })).spec.linux.namespaces).toContainEqual({ type: 'pid', path: '/proc/42/ns/pid' });
    const node = buildSpec(input({ request: request({ security: { ...request().security, pidMode: 'node' } }) }));
    expect(node.spec.linux.namespaces.some((n) => n.type === 'pid')).toBe(false);
    expect(() => buildSpec(input({ sandbox: { ...sandbox(), pidMode: 'pod' } }))).toThrow(/pid namespace/);
  });
  it('bind mounts with propagation; refuses ".." and rro it cannot honour', () => {
    const m = (o: object) => ({ containerPath: '/data', hostPath: '/srv', readonly: true, propagation: 'PROPAGATION_HOST_TO_CONTAINER' as const, recursiveReadOnly: false, ...o });
    const { spec } = buildSpec(input({ request: request({ mounts: [m({})] }) }));
    expect(spec.mounts.at(-1)).toEqual({ destination: '/data', type: 'bind', source: '/srv', options: ['rbind', 'rslave', 'ro'] });
    expect(() => buildSpec(input({ request: request({ mounts: [m({ containerPath: '/a/../etc' })] }) }))).toThrow(/"\.\."/);
    expect(() => buildSpec(input({ request: request({ mounts: [m({ containerPath: 'rel' })] }) }))).toThrow(/absolute/);
    expect(() => buildSpec(input({ request: request({ mounts: [m({ recursiveReadOnly: true, propagation: 'PROPAGATION_PRIVATE' })] }) }))).toThrow(/recursive read-only/);
    const hosts = buildSpec(input({ request: request({ mounts: [m({ containerPath: '/etc/hosts', hostPath: '/my/hosts' })] }) }));
    expect(hosts.spec.mounts.filter((x) => x.destination === '/etc/hosts')).toHaveLength(1);
  });
  it('resources, with oom_score_adj clamped and a warning', () => {
    const { spec, warnings } = buildSpec(input({ oomScoreFloor: -100, request: request({ resources: {
      cpuShares: 512, cpuQuota: 50000, cpuPeriod: 100000, cpusetCpus: '0-1', memoryLimit: 1 << 26, oomScoreAdj: -998,
      hugepageLimits: [{ pageSize: '2MB', limit: 0 }] } }), pidsLimit: 100 }));
    expect(spec.linux.resources.cpu).toEqual({ shares: 512, quota: 50000, period: 100000, cpus: '0-1' });
    expect(spec.linux.resources.memory).toEqual({ limit: 1 << 26 });
    expect(spec.linux.resources.pids).toEqual({ limit: 100 });
    expect(spec.process.oomScoreAdj).toBe(-100);
    expect(warnings[0]).toMatch(/oom_score_adj -998 raised to -100/);
    expect(() => buildSpec(input({ request: request({ resources: { cpusetCpus: '0-1;rm' } }) }))).toThrow(/cpuset_cpus/);
  });
  it('privileged: all capabilities, no masks, rw /sys, all devices', () => {
    const { spec } = buildSpec(input({ seccomp: null, request: request({ security: { ...request().security, privileged: true } }) }));
    expect(spec.process.capabilities.bounding).toContain('CAP_SYS_ADMIN');
    expect(spec.linux.maskedPaths).toEqual([]);
    expect(spec.mounts.find((m) => m.destination === '/sys')?.options).toContain('rw');
    expect(spec.linux.resources.devices).toEqual([{ allow: true, access: 'rwm' }]);
  });
  it('gives HOSTNAME, and TERM=xterm with a terminal, unless the image or request set them (as containerd)', () => {
    const tty = buildSpec(input({ request: request({ tty: true }) })).spec.process.env;
    expect(tty).toContain('TERM=xterm');
    expect(tty).toContain('HOSTNAME=p');
    expect(buildSpec(input()).spec.process.env.some((e) => e.startsWith('TERM='))).toBe(false);
    const own = buildSpec(input({ request: request({ tty: true, envs: [{ key: 'TERM', value: 'vt100' }, { key: 'HOSTNAME', value: 'mine' }] }) })).spec.process.env;
    expect(own).toContain('TERM=vt100');
    expect(own).toContain('HOSTNAME=mine');
    expect(new RuncCli('/usr/bin/runc', '/r').execCommandLine('c1', ['sh'], true, '/p').args).toEqual(
      ['--root', '/r', 'exec', '--tty', '--env', 'TERM=xterm', '--pid-file', '/p', 'c1', 'sh']);
    expect(new RuncCli('/usr/bin/runc', '/r').execCommandLine('c1', ['sh'], false, '/p').args).not.toContain('TERM=xterm');
  });
  it('privileged and add ALL take the capabilities the daemon holds, not every capability known', () => {
    const host = ALL_CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE' && c !== 'CAP_BPF');
    const privileged = buildSpec(input({ seccomp: null, hostCapabilities: host, request: request({ security: { ...request().security, privileged: true } }) }));
    expect(privileged.spec.process.capabilities.bounding).toEqual(host);
    const all = buildSpec(input({ hostCapabilities: host, request: request({ security: { ...request().security, capabilities: { add: ['ALL'] } } }) }));
    expect(all.spec.process.capabilities.effective).toEqual(host);
    expect(capabilitiesFromMask('000001ffffffffff')).toEqual([...ALL_CAPABILITIES]);
    expect(capabilitiesFromMask('00000000a80425fb')).toEqual(['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
      'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_SYS_CHROOT', 'CAP_MKNOD', 'CAP_AUDIT_WRITE', 'CAP_SETFCAP']);
  });
  it('RuntimeDefault opens the syscalls of the capabilities added, and only those', () => {
    const rules = (add: string[]): Set<string> => {
      const { spec } = buildSpec(input({ request: request({ security: { ...request().security, capabilities: { add } } }) }));
      const allowed = new Set<string>();
      for (const r of spec.linux.seccomp?.syscalls ?? []) {
        expect(r).not.toHaveProperty('includes');
        expect(r).not.toHaveProperty('excludes');
        if (r.action === 'SCMP_ACT_ALLOW' && !r.args) for (const n of r.names) allowed.add(n);
      }
      return allowed;
    };
    const plain = rules([]);
    for (const n of ['mount', 'unshare', 'setns', 'process_vm_readv', 'kcmp', 'clock_settime', 'settimeofday', 'reboot']) expect(plain.has(n)).toBe(false);
    const admin = rules(['SYS_ADMIN']);
    for (const n of ['mount', 'umount2', 'unshare', 'setns', 'clone', 'clone3']) expect(admin.has(n)).toBe(true);
    expect(admin.has('process_vm_readv')).toBe(false);
    expect(rules(['SYS_TIME']).has('clock_settime')).toBe(true);
    for (const n of ['process_vm_readv', 'process_vm_writev', 'kcmp']) expect(rules(['SYS_PTRACE']).has(n)).toBe(true);
    // Without SYS_ADMIN clone stays masked and clone3 answers ENOSYS.
    const { spec } = buildSpec(input());
    expect(spec.linux.seccomp?.syscalls?.find((r) => r.names.includes('clone3'))?.errnoRet).toBe(38);
  });
  it('allows ptrace without SYS_PTRACE only on kernels >= 4.8 (minKernel), as containerd and Docker', () => {
    const allowedOn = (kernel: string): Set<string> => new Set((forSpec(runtimeDefaultSeccomp(), DEFAULT_CAPABILITIES, kernel).syscalls ?? [])
      .filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args).flatMap((r) => r.names));
    expect(allowedOn('4.7.10-generic').has('ptrace')).toBe(false);
    expect(allowedOn('4.8.0').has('ptrace')).toBe(true);
    expect(allowedOn('6.18.44-fc-v1045').has('ptrace')).toBe(true);
    expect(allowedOn('not-a-version').has('ptrace')).toBe(false);
    expect(parseKernelVersion('5.15.0-91-generic')).toEqual([5, 15]);
    expect(() => checkProfile({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['ptrace'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: 'four' } }] }, 'p.json'))
      .toThrow(/syscalls\[0\]\.includes\.minKernel must be a kernel version/);
  });
  it('the ajv schema catches what the builder must never emit', () => {
    const { spec } = buildSpec(input());
    expect(() => validateSpec({ ...spec, process: { ...spec.process, user: { uid: 2 ** 31, gid: 0 } } })).toThrow(/uid/);
    expect(() => validateSpec({ ...spec, process: { ...spec.process, args: [] } })).toThrow(/args/);
    expect(() => validateSpec({ ...spec, mounts: [{ destination: 'relative' }] })).toThrow(/destination/);
    expect(() => validateSpec({ ...spec, unknown: 1 })).toThrow(/additional/);
  });
});

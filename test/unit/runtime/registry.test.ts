// One runtime registry: the handlers whose binary was found are the only ones that Status
// lists, RunPodSandbox accepts and PullImage accepts; a configured handler whose binary is
// missing is refused by each, with the same words.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/config/defaults.js';
import { imagePull } from '../../../src/cri/image-pull.js';
import type { ImageService } from '../../../src/image/image-service.js';
import { createLogger } from '../../../src/logger.js';
import { runtimeRegistryFromConfig } from '../../../src/runtime/registry.js';
import { checkSandboxSpec, type SandboxSpec } from '../../../src/sandbox/spec.js';

const state = mkdtempSync(join(tmpdir(), 'keelson-registry-'));
afterAll(() => rmSync(state, { recursive: true, force: true }));

describe('the runtime registry', () => {
  const config = defaultConfig();
  config.state = state;
  config.runtime.handlers = { runc: { path: 'runc' }, ghost: { path: '/nonexistent/ghost-runtime' } };
  const registry = runtimeRegistryFromConfig(config, createLogger('error'));

  it('holds the handlers whose binary is here, with one driver and one CLI each', () => {
    expect(registry.names()).toEqual(['runc']);
    expect(registry.cli('runc').binary).toMatch(/\/runc$/);
    expect(registry.runtime('runc')).toBe(registry.runtime('runc'));
    expect(() => registry.runtime('ghost')).toThrow(/runtime handler "ghost" is not configured/);
    expect(() => registry.cli('ghost')).toThrow(/runtime handler "ghost" is not configured/);
  });

  it('is what RunPodSandbox and PullImage check a handler against', async () => {
    const spec: SandboxSpec = {
      metadata: { name: 'web', namespace: 'default', uid: 'u1', attempt: 0 }, hostname: 'web', logDirectory: '',
      dns: null, portMappings: [], labels: {}, annotations: {}, cgroupParent: '',
      namespaces: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' }, sysctls: {}, resources: {},
      securityContext: { runAsUser: null, runAsGroup: null, supplementalGroups: [], readonlyRootfs: false, privileged: false, seccomp: null, apparmor: null, selinux: null },
      runtimeHandler: 'ghost',
    };
    expect(() => checkSandboxSpec(spec, registry.names())).toThrow(/runtime_handler "ghost" is not configured or its binary is missing \(usable: runc\)/);
    const pull = imagePull({} as ImageService, () => registry.names());
    await expect(pull({ image: { image: 'x', runtime_handler: 'ghost' } })).rejects.toThrow(/"ghost" is not configured or its binary is missing \(usable: runc\)/);
  });
});

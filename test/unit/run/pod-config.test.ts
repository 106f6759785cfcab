import { describe, expect, it } from 'vitest';
import { parseManifests } from '../../../src/kube/manifest.js';
import { containerConfig, POD_SPEC_ANNOTATION, resourcesOf, sandboxConfig, withDefaults, type EnvSources } from '../../../src/run/pod-config.js';

const manifest = `apiVersion: v1
kind: Pod
metadata: { name: web, labels: { app: shop } }
spec:
  hostPID: false
  shareProcessNamespace: true
  securityContext: { runAsUser: 1000, fsGroup: 2000, sysctls: [{ name: net.ipv4.ip_unprivileged_port_start, value: "0" }] }
  dnsConfig: { nameservers: [1.1.1.1], options: [{ name: ndots, value: "2" }] }
  containers:
    - name: app
      image: busybox
      command: [sh]
      args: [-c, "true"]
      workingDir: /srv
      ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 9000 }]
      env:
        - { name: A, value: "1" }
        - { name: NAME, valueFrom: { fieldRef: { fieldPath: metadata.name } } }
        - { name: APP, valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } }
        - { name: IP, valueFrom: { fieldRef: { fieldPath: status.podIP } } }
        - { name: KEY, valueFrom: { configMapKeyRef: { name: cfg, key: k } } }
        - { name: OPT, valueFrom: { secretKeyRef: { name: nope, key: k, optional: true } } }
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { add: [NET_ADMIN], drop: [ALL] } }
      resources: { requests: { cpu: 250m }, limits: { cpu: "1", memory: 128Mi } }
      readinessProbe: { tcpSocket: { port: 80 } }
`;

const sources: EnvSources = { podIP: '10.0.0.5', nodeName: 'node1', configMaps: new Map([['cfg', new Map([['k', 'v']])]]), secrets: new Map() };

describe('Pod to CRI requests', () => {
  const pod = withDefaults(parseManifests(manifest, 'm.yaml').pods[0]!.pod, 'uid-1');

  it('fills defaults as the API server would', () => {
    expect(pod.metadata.namespace).toBe('default');
    expect(pod.spec.restartPolicy).toBe('Always');
    expect(pod.spec.containers[0]?.imagePullPolicy).toBe('IfNotPresent');
    expect(pod.spec.containers[0]?.readinessProbe).toMatchObject({ periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 });
  });

  it('builds the sandbox config: metadata, ports, dns, namespaces, sysctls and the pod-spec mark', () => {
    const cfg = sandboxConfig(pod, '/logs/default_web_uid-1');
    expect(cfg.metadata).toEqual({ name: 'web', namespace: 'default', uid: 'uid-1', attempt: 0 });
    expect(cfg.port_mappings).toEqual([{ protocol: 'TCP', container_port: 80, host_port: 8080, host_ip: '' }]);
    expect(cfg.dns_config).toEqual({ servers: ['1.1.1.1'], searches: [], options: ['ndots:2'] });
    expect(cfg.linux?.security_context?.namespace_options).toEqual({ network: 'POD', pid: 'POD', ipc: 'POD' });
    expect(cfg.linux?.sysctls).toEqual({ 'net.ipv4.ip_unprivileged_port_start': '0' });
    expect(cfg.linux?.security_context?.supplemental_groups).toEqual(['2000']);
    expect(JSON.parse(cfg.annotations?.[POD_SPEC_ANNOTATION] ?? '{}')).toEqual(pod);
  });

  it('builds the container config: env sources, security context and resources', () => {
    const c = containerConfig(pod, pod.spec.containers[0]!, 'app', [], sources);
    expect(Object.fromEntries((c.envs ?? []).map((e) => [e.key, e.value?.toString()]))).toEqual({ A: '1', NAME: 'web', APP: 'shop', IP: '10.0.0.5', KEY: 'v' });
    expect(c.working_dir).toBe('/srv');
    expect(c.log_path).toBe('app/0.log');
    const sc = c.linux?.security_context;
    expect(sc?.no_new_privs).toBe(true);
    expect(sc?.readonly_rootfs).toBe(true);
    expect(sc?.run_as_user).toEqual({ value: '1000' });
    expect(sc?.capabilities).toEqual({ add_capabilities: ['NET_ADMIN'], drop_capabilities: ['ALL'] });
    expect(sc?.seccomp).toEqual({ profile_type: 'RuntimeDefault' });
    expect(c.linux?.resources).toEqual({ cpu_shares: '256', cpu_period: '100000', cpu_quota: '100000', memory_limit_in_bytes: String(128 * 2 ** 20) });
  });

  it('names the field of an env source that is missing or unsupported', () => {
    const missing = { ...sources, configMaps: new Map() };
    expect(() => containerConfig(pod, pod.spec.containers[0]!, 'app', [], missing)).toThrow(/spec\.containers\[0\]\.env\[4\]\.valueFrom\.configMapKeyRef: configMap "cfg" key "k" not found/);
    const odd = structuredClone(pod);
    odd.spec.containers[0]!.env = [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'status.phase' } } }];
    expect(() => containerConfig(odd, odd.spec.containers[0]!, 'app', [], sources)).toThrow(/env\[0\]\.valueFrom\.fieldRef\.fieldPath "status\.phase" is not supported/);
  });

  it('gives cpu shares from requests (at least 2) and quota from limits', () => {
    expect(resourcesOf({ name: 'a', image: 'i', resources: { requests: { cpu: '1m' } } }, 'c')).toEqual({ cpu_shares: '2' });
    expect(resourcesOf({ name: 'a', image: 'i', resources: { limits: { cpu: '500m' } } }, 'c')).toEqual({ cpu_shares: '512', cpu_period: '100000', cpu_quota: '50000' });
    expect(() => resourcesOf({ name: 'a', image: 'i', resources: { limits: { memory: 'lots' } } }, 'spec.containers[0]')).toThrow(/spec\.containers\[0\]\.resources\.limits\.memory/);
  });

  it('expands $(VAR) in env, command and args as kubelet does (dependent-envars.yaml, commands/args page)', () => {
    const m = withDefaults(parseManifests(`apiVersion: v1
kind: Pod
metadata: { name: dependent-envars-demo }
spec:
  containers:
    - name: dependent-envars-demo
      image: busybox
      command: [/bin/echo]
      args: ["$(MESSAGE)", "$(SERVICE_ADDRESS)", "$$(MESSAGE)", "$(NOPE)"]
      env:
        - { name: MESSAGE, value: "hello world" }
        - { name: SERVICE_ADDRESS, value: "https://$(SERVICE_HOST):$(SERVICE_PORT)" }
        - { name: UNCHANGED_REFERENCE, value: "$(PROTOCOL)://172.17.0.1:80" }
        - { name: SERVICE_PORT, value: "80" }
        - { name: SERVICE_HOST, value: "172.17.0.1" }
        - { name: PROTOCOL, value: "https" }
        - { name: ESCAPED_REFERENCE, value: "$$(PROTOCOL)://$(SERVICE_HOST):$(SERVICE_PORT)" }
        - { name: POD, valueFrom: { fieldRef: { fieldPath: metadata.name } } }
        - { name: FROM_FIELD, value: "pod=$(POD)" }
`, 'd.yaml').pods[0]!.pod, 'uid-2');
    const c = containerConfig(m, m.spec.containers[0]!, 'app', [], sources);
    const env = Object.fromEntries((c.envs ?? []).map((e) => [e.key, e.value?.toString()]));
    expect(env).toMatchObject({
      SERVICE_ADDRESS: 'https://$(SERVICE_HOST):$(SERVICE_PORT)',
      UNCHANGED_REFERENCE: '$(PROTOCOL)://172.17.0.1:80',
      ESCAPED_REFERENCE: '$(PROTOCOL)://172.17.0.1:80',
      FROM_FIELD: 'pod=dependent-envars-demo',
    });
    expect(c.command).toEqual(['/bin/echo']);
    expect(c.args).toEqual(['hello world', 'https://$(SERVICE_HOST):$(SERVICE_PORT)', '$(MESSAGE)', '$(NOPE)']);
  });
});

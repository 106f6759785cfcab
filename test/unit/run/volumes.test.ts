import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Pod } from '../../../src/kube/pod-types.js';
import { csiVolumeRequests, mountsOf, prepareVolumes, readKeySource, removeVolumes } from '../../../src/run/volumes.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'keelson-volumes-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function pod(volumes: NonNullable<Pod['spec']['volumes']>, mounts: Array<{ name: string; mountPath: string; subPath?: string }> = []): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i', volumeMounts: mounts }], volumes } };
}

describe('pod volumes on the host', () => {
  it('writes downwardAPI and projected volumes (serviceAccountToken skipped), read-only, paths kept inside', async () => {
    const base = join(dir, 'pod');
    const p = pod([
      { name: 'd', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }, { path: 'sub/name', fieldRef: { fieldPath: 'metadata.name' }, mode: 0o400 }] } },
      { name: 'all', projected: { defaultMode: 0o440, sources: [
        { secret: { name: 'mysecret', items: [{ key: 'username', path: 'my-group/my-username' }] } },
        { downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
        { configMap: { name: 'myconfigmap', items: [{ key: 'config', path: 'my-group/my-config' }] } },
        {}, // a serviceAccountToken source, dropped by the manifest check
      ] } },
    ], [{ name: 'd', mountPath: '/etc/podinfo' }, { name: 'all', mountPath: '/projected' }]);
    p.metadata.labels = { b: '2', a: 'x"y' };
    const src = { configMaps: new Map([['myconfigmap', new Map([['config', 'C']])]]), secrets: new Map([['mysecret', new Map([['username', 'admin']])]]) };
    const volumes = await prepareVolumes(p, base, src);
    expect(readFileSync(join(volumes.get('d') ?? '', 'labels'), 'utf8')).toBe('a="x\\"y"\nb="2"');
    expect(statSync(join(volumes.get('d') ?? '', 'sub/name')).mode & 0o777).toBe(0o400);
    const all = volumes.get('all') ?? '';
    expect(readFileSync(join(all, 'my-group/my-username'), 'utf8')).toBe('admin');
    expect(readFileSync(join(all, 'my-group/my-config'), 'utf8')).toBe('C');
    expect(statSync(join(all, 'my-group/my-config')).mode & 0o777).toBe(0o440);
    expect(mountsOf(p.spec.containers[0]!, volumes, p).map((m) => m.readonly)).toEqual([true, true]);
    await removeVolumes(base);
    const escape = pod([{ name: 'd', downwardAPI: { items: [{ path: '../x', fieldRef: { fieldPath: 'metadata.name' } }] } }]);
    await expect(prepareVolumes(escape, base, src)).rejects.toThrow(/spec\.volumes\[0\]\.downwardAPI\.items\[0\]\.path "\.\.\/x" must be relative/);
  });

  it('gives emptyDir (rw), secret and downwardAPI (ro) volumes to fsGroup, leaves hostPath alone', async () => {
    const base = join(dir, 'pod');
    const host = join(dir, 'host');
    mkdirSync(host);
    const p = pod([
      { name: 'e', emptyDir: {} },
      { name: 's', secret: { secretName: 's', defaultMode: 0o400 } },
      { name: 'h', hostPath: { path: host } },
    ]);
    p.spec.securityContext = { fsGroup: 2345 };
    const volumes = await prepareVolumes(p, base, { configMaps: new Map(), secrets: new Map([['s', new Map([['k', 'v']])]]) });
    const e = statSync(volumes.get('e') ?? '');
    expect([e.gid, e.mode & 0o7777]).toEqual([2345, 0o2777]);
    const sdir = statSync(volumes.get('s') ?? '');
    expect([sdir.uid, sdir.gid, sdir.mode & 0o7777]).toEqual([0, 2345, 0o2755]);
    const sfile = statSync(join(volumes.get('s') ?? '', 'k'));
    expect([sfile.uid, sfile.gid, sfile.mode & 0o7777]).toEqual([0, 2345, 0o440]);
    expect(statSync(host).gid).toBe(0);
    await removeVolumes(base);
  });

  it('projects a configMap from a dir with items and modes, and removes it all again', async () => {
    const src = join(dir, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a'), 'A');
    writeFileSync(join(src, 'b'), 'B');
    const cm = readKeySource(`cfg=${src}`, 'configmap');
    expect([...cm.data.entries()].sort()).toEqual([['a', 'A'], ['b', 'B']]);
    const base = join(dir, 'pod');
    const p = pod([{ name: 'v', configMap: { name: 'cfg', items: [{ key: 'a', path: 'sub/x', mode: 0o600 }] } }], [{ name: 'v', mountPath: '/etc/v' }]);
    const volumes = await prepareVolumes(p, base, { configMaps: new Map([[cm.name, cm.data]]), secrets: new Map() });
    const file = join(volumes.get('v') ?? '', 'sub/x');
    expect(readFileSync(file, 'utf8')).toBe('A');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(existsSync(join(volumes.get('v') ?? '', 'b'))).toBe(false);
    expect(mountsOf(p.spec.containers[0]!, volumes, p)[0]).toMatchObject({ container_path: '/etc/v', readonly: true });
    await removeVolumes(base);
    expect(existsSync(base)).toBe(false);
  });

  it('turns csi and persistentVolumeClaim volumes into requests for the daemon, with secrets from --secret', () => {
    const secrets = new Map([['creds', new Map([['token', 's3cret']])]]);
    const requests = csiVolumeRequests(pod([
      { name: 'e', emptyDir: {} },
      { name: 'inline', csi: { driver: 'd.example', readOnly: true, fsType: 'ext4', volumeAttributes: { a: 'b' }, nodePublishSecretRef: { name: 'creds' } } },
      { name: 'claimed', persistentVolumeClaim: { claimName: 'data', readOnly: true } },
    ]), { configMaps: new Map(), secrets });
    expect(requests).toEqual([
      { name: 'inline', source: { kind: 'inline', driver: 'd.example', attributes: { a: 'b' }, readOnly: true, fsType: 'ext4', secrets: { token: 's3cret' } } },
      { name: 'claimed', source: { kind: 'named', volume: 'data', readOnly: true } },
    ]);
  });

  it('refuses what is wrong, naming the field, and leaves nothing behind', async () => {
    const base = join(dir, 'pod');
    const none = { configMaps: new Map<string, Map<string, string>>(), secrets: new Map<string, Map<string, string>>() };
    // The daemon publishes CSI volumes; a secret the plugin needs must be given on the command line.
    expect(() => csiVolumeRequests(pod([{ name: 'e', emptyDir: {} }, { name: 'v', csi: { driver: 'x', nodePublishSecretRef: { name: 'creds' } } }]), none))
      .toThrow(/spec\.volumes\[1\]\.csi\.nodePublishSecretRef: secret "creds" not given/);
    writeFileSync(join(dir, 'file'), '');
    await expect(prepareVolumes(pod([{ name: 'h', hostPath: { path: join(dir, 'file'), type: 'Directory' } }]), base, none)).rejects.toThrow(/spec\.volumes\[0\]\.hostPath: .* is not a directory/);
    await expect(prepareVolumes(pod([{ name: 's', secret: { secretName: 'tls' } }]), base, none)).rejects.toThrow(/secret "tls" not given \(use --secret tls=DIR\|FILE\)/);
    const cms = { ...none, configMaps: new Map([['c', new Map([['k', 'v']])]]) };
    await expect(prepareVolumes(pod([{ name: 'c', configMap: { name: 'c', items: [{ key: 'k', path: '../../escape' }] } }]), base, cms)).rejects.toThrow(/items\[0\]\.path "\.\.\/\.\.\/escape" must be relative and stay inside/);
    expect(existsSync(join(dir, 'escape'))).toBe(false);
    const p = pod([{ name: 'e', emptyDir: {} }], [{ name: 'e', mountPath: '/x', subPath: 'a/../../up' }]);
    const volumes = await prepareVolumes(p, base, none);
    expect(() => mountsOf(p.spec.containers[0]!, volumes, p)).toThrow(/volumeMounts\[0\]\.subPath "a\/\.\.\/\.\.\/up" must be relative/);
    await removeVolumes(base);
  });
});

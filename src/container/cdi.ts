// CDI (Container Device Interface) devices, as a CRI ContainerConfig.cdi_devices names them
// ("vendor.com/class=name"): the spec files under the spec dirs (JSON or YAML, later dirs win,
// as the CDI spec orders /etc/cdi below /var/run/cdi) are read at each create, and a device's
// edits (its own and its spec's containerEdits: env, device nodes, mounts) join the request.
// Hooks are refused: keelson runs no host programs on a spec's say.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { FailedPreconditionError, InvalidArgumentError } from '../errors.js';
import type { DeviceRequest } from './types.js';
import type { MountRequest } from './oci-spec/mounts.js';

export const DEFAULT_CDI_SPEC_DIRS = ['/etc/cdi', '/var/run/cdi'];

interface ContainerEdits {
  env?: string[];
  deviceNodes?: Array<{ path: string; hostPath?: string; permissions?: string }>;
  mounts?: Array<{ hostPath: string; containerPath: string; options?: string[] }>;
  hooks?: unknown[];
}

interface Spec {
  kind: string;
  devices: Array<{ name: string; containerEdits?: ContainerEdits }>;
  containerEdits?: ContainerEdits;
}

/** What the named devices add to a container. */
export interface CdiEdits {
  env: Array<{ key: string; value: string }>;
  devices: DeviceRequest[];
  mounts: MountRequest[];
}

const KIND = /^[a-zA-Z0-9][a-zA-Z0-9.-]*\/[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const DEVICE = /^[a-zA-Z0-9][a-zA-Z0-9_.:-]*$/;

function checkSpec(value: unknown, file: string): Spec {
  const s = value as Partial<Spec> | null;
  if (!s || typeof s !== 'object' || typeof s.kind !== 'string' || !KIND.test(s.kind) || !Array.isArray(s.devices)) {
    throw new FailedPreconditionError(`CDI spec ${file} is not valid: it needs a kind "vendor.com/class" and a devices list`);
  }
  for (const d of s.devices) {
    if (!d || typeof d.name !== 'string' || !DEVICE.test(d.name)) throw new FailedPreconditionError(`CDI spec ${file} has a device with an invalid name`);
  }
  return s as Spec;
}

/** Every device of the spec dirs by qualified name, with the edits it brings; a later dir wins. */
async function loadDevices(dirs: readonly string[]): Promise<Map<string, { file: string; edits: ContainerEdits[] }>> {
  const out = new Map<string, { file: string; edits: ContainerEdits[] }>();
  for (const dir of dirs) {
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => /\.(json|ya?ml)$/.test(n)).sort();
    const inDir = new Map<string, string>();
    for (const name of names) {
      const file = join(dir, name);
      const text = await readFile(file, 'utf8');
      let parsed: unknown;
      try {
        parsed = name.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
      } catch (err) {
        throw new FailedPreconditionError(`CDI spec ${file} cannot be parsed: ${(err as Error).message}`);
      }
      const spec = checkSpec(parsed, file);
      for (const d of spec.devices) {
        const qualified = `${spec.kind}=${d.name}`;
        const other = inDir.get(qualified);
        if (other) throw new FailedPreconditionError(`CDI device ${qualified} is defined twice, in ${other} and ${file}`);
        inDir.set(qualified, file);
        out.set(qualified, { file, edits: [spec.containerEdits ?? {}, d.containerEdits ?? {}] });
      }
    }
  }
  return out;
}

/** The edits of the named devices, or InvalidArgument naming the first that no spec defines. */
export async function resolveCdiDevices(names: readonly string[], dirs: readonly string[]): Promise<CdiEdits> {
  const edits: CdiEdits = { env: [], devices: [], mounts: [] };
  if (names.length === 0) return edits;
  const known = await loadDevices(dirs);
  const seenSpecEdits = new Set<string>();
  for (const [i, name] of names.entries()) {
    const found = known.get(name);
    if (!found) throw new InvalidArgumentError(`cdi_devices[${i}] ${JSON.stringify(name)} is not defined by any CDI spec in ${dirs.join(', ')}`);
    const [specEdits, deviceEdits] = found.edits as [ContainerEdits, ContainerEdits];
    // A spec's own edits apply once, however many of its devices are asked for.
    const parts = seenSpecEdits.has(found.file) ? [deviceEdits] : [specEdits, deviceEdits];
    seenSpecEdits.add(found.file);
    for (const e of parts) {
      if ((e.hooks ?? []).length > 0) {
        throw new FailedPreconditionError(`CDI device ${name} asks for hooks (${found.file}): keelson does not run CDI hooks`);
      }
      for (const kv of e.env ?? []) {
        const eq = kv.indexOf('=');
        if (eq <= 0) throw new FailedPreconditionError(`CDI spec ${found.file}: env entry ${JSON.stringify(kv)} is not KEY=VALUE`);
        edits.env.push({ key: kv.slice(0, eq), value: kv.slice(eq + 1) });
      }
      for (const n of e.deviceNodes ?? []) {
        edits.devices.push({ containerPath: n.path, hostPath: n.hostPath ?? n.path, permissions: n.permissions ?? '' });
      }
      for (const m of e.mounts ?? []) {
        edits.mounts.push({
          containerPath: m.containerPath, hostPath: m.hostPath, readonly: (m.options ?? []).includes('ro'),
          propagation: 'PROPAGATION_PRIVATE', recursiveReadOnly: false,
        });
      }
    }
  }
  return edits;
}

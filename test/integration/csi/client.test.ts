// CsiClient against the fixture CSI plugin running as a real process: answers, the plugin's
// gRPC codes kept as error kinds, retries on retryable codes only (counted in the plugin's
// calls.jsonl), per-attempt deadlines, and a socket nobody serves.
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CsiCallError, CsiClient } from '../../../src/csi/client.js';
import { KeelsonError } from '../../../src/errors.js';
import { startFixturePlugin, type FixturePlugin } from '../../fixtures/csi-fixture.js';

const NAME = 'client.csi.keelson.dev';

let dir: string;
let plugin: FixturePlugin;
const clients: CsiClient[] = [];

function client(opts: { timeoutMs?: number; retries?: number; retryDelayMs?: number } = {}, endpoint?: string): CsiClient {
  const c = new CsiClient(NAME, endpoint ?? `unix://${plugin.socket}`, { timeoutMs: 5_000, retries: 0, retryDelayMs: 50, ...opts });
  clients.push(c);
  return c;
}

/** Lines in calls.jsonl for method, written after the first `since` lines. */
function attempts(method: string, since: number): number {
  return plugin.calls().slice(since).filter((c) => c.method === method).length;
}

async function failpoint(kind: 'fail' | 'hang', method: string, content = ''): Promise<void> {
  await mkdir(join(plugin.stateDir, kind), { recursive: true });
  await writeFile(join(plugin.stateDir, kind, method), content);
}

/** The rejection of p, which must be a CsiCallError. */
async function callError(p: Promise<unknown>): Promise<CsiCallError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(CsiCallError);
  expect(err).toBeInstanceOf(KeelsonError);
  return err as CsiCallError;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keelson-csi-client-'));
  plugin = await startFixturePlugin(dir, ['--name', NAME, '--node-id', 'node-under-test']);
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await rm(join(plugin.stateDir, 'fail'), { recursive: true, force: true });
  await rm(join(plugin.stateDir, 'hang'), { recursive: true, force: true });
});

afterAll(async () => {
  await plugin?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('CsiClient', () => {
  it('answers Identity and Node calls from the plugin, with the unix:// prefix taken off the endpoint', async () => {
    const c = client();
    expect(c.endpoint).toBe(plugin.socket);
    const about = await c.identity('GetPluginInfo', {});
    expect(about.name).toBe(NAME);
    expect(about.vendor_version).toBe('0.1.0');
    const info = await c.node('NodeGetInfo', {});
    expect(info.node_id).toBe('node-under-test');
    const caps = await c.node('NodeGetCapabilities', {});
    expect((caps.capabilities ?? []).map((x) => x.rpc?.type)).toEqual(expect.arrayContaining(['STAGE_UNSTAGE_VOLUME', 'EXPAND_VOLUME']));
  });

  it('turns NOT_FOUND into a CsiCallError of kind NotFound naming plugin, method and volume, without retrying', async () => {
    const since = plugin.calls().length;
    const err = await callError(client({ retries: 3 }).node('NodeExpandVolume', { volume_id: 'vol-nosuchvolume', volume_path: join(dir, 'nowhere') }));
    expect(err.kind).toBe('NotFound');
    expect(err.code).toBe('NOT_FOUND');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(`CSI plugin "${NAME}"`);
    expect(err.message).toContain('NodeExpandVolume');
    expect(err.message).toContain('for volume vol-nosuchvolume');
    expect(err.message).toContain('volume vol-nosuchvolume does not exist');
    expect(err.message).not.toMatch(/attempts/);
    expect(attempts('NodeExpandVolume', since)).toBe(1);
  });

  it('retries UNAVAILABLE: retries+1 attempts, then kind Unavailable "after N attempts"', async () => {
    await failpoint('fail', 'NodeGetInfo', 'UNAVAILABLE\n');
    const since = plugin.calls().length;
    const err = await callError(client({ retries: 2 }).node('NodeGetInfo', {}));
    expect(attempts('NodeGetInfo', since)).toBe(3);
    expect(plugin.calls().slice(since).every((c) => c.method !== 'NodeGetInfo' || c.code === 'UNAVAILABLE')).toBe(true);
    expect(err.kind).toBe('Unavailable');
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain(`CSI plugin "${NAME}" NodeGetInfo failed after 3 attempts`);
    expect(err.message).toContain('injected failure for NodeGetInfo');
  });

  it('a retry that succeeds answers normally', async () => {
    await failpoint('fail', 'GetPluginInfo', 'UNAVAILABLE');
    const since = plugin.calls().length;
    const c = client({ retries: 3, retryDelayMs: 300 });
    const pending = c.identity('GetPluginInfo', {});
    // Lift the failpoint after the first attempt failed, before the retry.
    for (let i = 0; attempts('GetPluginInfo', since) === 0; i++) {
      if (i > 100) throw new Error('the first attempt never reached the plugin');
      await new Promise((r) => setTimeout(r, 10));
    }
    await rm(join(plugin.stateDir, 'fail', 'GetPluginInfo'));
    expect((await pending).name).toBe(NAME);
    const seen = plugin.calls().slice(since).filter((x) => x.method === 'GetPluginInfo');
    expect(seen.map((x) => x.ok)).toEqual([false, true]);
  });

  it('does not retry INVALID_ARGUMENT: exactly one attempt, kind InvalidArgument', async () => {
    await failpoint('fail', 'NodeGetInfo', 'INVALID_ARGUMENT');
    const since = plugin.calls().length;
    const err = await callError(client({ retries: 3 }).node('NodeGetInfo', {}));
    expect(attempts('NodeGetInfo', since)).toBe(1);
    expect(err.kind).toBe('InvalidArgument');
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.retryable).toBe(false);
    expect(err.message).not.toMatch(/attempts/);
  });

  it('gives up on a hanging call per attempt: DeadlineExceeded after retries+1 attempts', async () => {
    await failpoint('hang', 'NodeGetCapabilities');
    const since = plugin.calls().length;
    const started = Date.now();
    const err = await callError(client({ timeoutMs: 300, retries: 1 }).node('NodeGetCapabilities', {}));
    const took = Date.now() - started;
    expect(err.kind).toBe('DeadlineExceeded');
    expect(err.code).toBe('DEADLINE_EXCEEDED');
    expect(err.message).toContain('NodeGetCapabilities failed after 2 attempts');
    // Two 300 ms attempts and a 50 ms pause; far less than any default deadline.
    expect(took).toBeGreaterThanOrEqual(600);
    expect(took).toBeLessThan(5_000);
    expect(plugin.calls().slice(since).filter((c) => c.method === 'NodeGetCapabilities').map((c) => c.code)).toEqual(['HANG', 'HANG']);
  });

  it('reports an endpoint where nothing listens as Unavailable "not reachable at <path>"', async () => {
    const missing = join(dir, 'nobody-listens.sock');
    const c = client({ retries: 1, timeoutMs: 2_000 }, `unix://${missing}`);
    const err = await callError(c.identity('Probe', {}));
    expect(err.kind).toBe('Unavailable');
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toContain(`CSI plugin "${NAME}" Probe failed after 2 attempts`);
    expect(err.message).toContain(`not reachable at ${missing}`);
  });
});

// Files a daemon killed mid-call leaves in its own state dir are reclaimed at the next start:
// pull progress files (<state>/pulls) and per-exec scratch dirs (<state>/exec). And an exec
// keeps its files there, never in /tmp.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startKeelson, type KeelsonDaemon } from '../../fixtures/daemon.js';
import { leftovers, tmpScratch } from '../../fixtures/nothing-left.js';
import { PodEnv, waitFor } from '../../fixtures/pod-env.js';

const daemons: KeelsonDaemon[] = [];
afterAll(async () => {
  for (const d of daemons) await d.destroy();
});

describe('leftovers of a killed daemon', () => {
  it('empties <state>/pulls and <state>/exec at start', async () => {
    const first = await startKeelson();
    await first.kill();
    mkdirSync(join(first.state, 'pulls'), { recursive: true });
    writeFileSync(join(first.state, 'pulls', `${'a'.repeat(64)}.json`), '{"finished":false}');
    mkdirSync(join(first.state, 'exec', 'keelson-exec-left'), { recursive: true });
    writeFileSync(join(first.state, 'exec', 'keelson-exec-left', 'pid'), '123');
    const again = await startKeelson({ base: first.base });
    daemons.push(again);
    expect(await leftovers({ daemon: again }, { tmpBefore: tmpScratch() })).toEqual([]);
  });

  it('keeps exec scratch files under the state dir, not in /tmp', async () => {
    const tmpBefore = tmpScratch();
    const env = await PodEnv.start();
    try {
      const before = readdirSync(tmpdir()).filter((n) => n.startsWith('keelson-exec-'));
      const pod = await env.runPod();
      const id = await env.startContainer(pod, env.container('sleeper', ['sleep', '3600']));
      const exec = env.exec(id, ['sleep', '2']);
      const during = await waitFor('the exec scratch dir', async () => {
        const names = readdirSync(join(env.daemon.state, 'exec')).filter((n) => n.startsWith('keelson-exec-'));
        return names.length > 0 ? names : undefined;
      });
      expect(during.length).toBe(1);
      expect(readdirSync(tmpdir()).filter((n) => n.startsWith('keelson-exec-') && !before.includes(n))).toEqual([]);
      expect((await exec).code).toBe(0);
      expect(readdirSync(join(env.daemon.state, 'exec'))).toEqual([]);
      await env.removePod(pod.id);
      expect(await leftovers(env, { pods: [pod.id], tmpBefore })).toEqual([]);
    } finally {
      await env.destroy();
    }
  });
});

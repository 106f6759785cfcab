// The CRIU driver against the real criu binary: what it reports must be what `criu check`
// itself prints on this machine (usable, or its first error line), and a missing binary is
// named as such.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Criu } from '../../../src/runtime/criu.js';

const CRIU = '/usr/sbin/criu';

describe('CRIU driver', () => {
  it.skipIf(!existsSync(CRIU))('reports what `criu check` says on this machine', async () => {
    const direct = spawnSync(CRIU, ['check'], { encoding: 'utf8', timeout: 10_000 });
    const found = await new Criu(CRIU).availability();
    if (direct.status === 0) {
      expect(found).toEqual({ usable: true, binary: CRIU });
      return;
    }
    const firstError = `${direct.stdout}\n${direct.stderr}`.split('\n').map((l) => l.trim()).find((l) => l.startsWith('Error'));
    expect(firstError).toBeTruthy();
    expect(found).toEqual({ usable: false, reason: firstError });
  });

  it.skipIf(!existsSync(CRIU))('finds criu by name on PATH and the sbin dirs, and checks it once', async () => {
    const criu = new Criu('criu');
    const first = criu.availability();
    expect(criu.availability()).toBe(first);
    const byPath = await new Criu(CRIU).availability();
    expect(await first).toEqual(byPath);
  });

  it('says criu is not installed when the binary is missing', async () => {
    const found = await new Criu('/nonexistent/keelson-test/criu').availability();
    expect(found).toEqual({ usable: false, reason: 'criu is not installed (looked for "/nonexistent/keelson-test/criu")' });
  });
});

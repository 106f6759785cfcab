import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CriLogParser, previousAttemptLog, sinceToEpochMs } from '../../../src/run/cri-log.js';

describe('CRI log lines', () => {
  it('strips the prefix, keeps the stream, and joins partial lines across chunks', () => {
    const p = new CriLogParser();
    expect(p.push('2024-01-01T00:00:00.1Z stdout P hel')).toEqual([]);
    expect(p.push('lo\n2024-01-01T00:00:00.2Z stdout P , \n2024-01-01T00:00:00.3Z stdout F world\n')).toEqual([
      { time: '2024-01-01T00:00:00.3Z', stream: 'stdout', text: 'hello, world' },
    ]);
    expect(p.push('2024-01-01T00:00:01Z stderr F oops\n2024-01-01T00:00:02Z stdout F\n')).toEqual([
      { time: '2024-01-01T00:00:01Z', stream: 'stderr', text: 'oops' },
      { time: '2024-01-01T00:00:02Z', stream: 'stdout', text: '' },
    ]);
  });

  it('joins partial lines per stream: a stdout piece is not glued onto a stderr line', () => {
    const p = new CriLogParser();
    expect(p.push([
      '2024-01-01T00:00:00.1Z stdout P out-',
      '2024-01-01T00:00:00.2Z stderr P err-',
      '2024-01-01T00:00:00.3Z stderr F one',
      '2024-01-01T00:00:00.4Z stdout F two',
      '',
    ].join('\n'))).toEqual([
      { time: '2024-01-01T00:00:00.3Z', stream: 'stderr', text: 'err-one' },
      { time: '2024-01-01T00:00:00.4Z', stream: 'stdout', text: 'out-two' },
    ]);
  });

  it('hands out the unfinished pieces of each stream at the end of a log', () => {
    const p = new CriLogParser();
    expect(p.push('2024-01-01T00:00:00.1Z stdout P no-newline\n2024-01-01T00:00:00.2Z stderr F done\n')).toEqual([
      { time: '2024-01-01T00:00:00.2Z', stream: 'stderr', text: 'done' },
    ]);
    expect(p.flush()).toEqual([{ time: '2024-01-01T00:00:00.2Z', stream: 'stdout', text: 'no-newline', partial: true }]);
    expect(p.flush()).toEqual([]);
  });

  it('finds the previous attempt\'s log file next to the current one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keelson-unit-'));
    try {
      writeFileSync(join(dir, '0.log'), '');
      expect(previousAttemptLog(join(dir, '1.log'), 1)).toBe(join(dir, '0.log'));
      expect(previousAttemptLog(join(dir, '0.log'), 0)).toBeNull();
      expect(previousAttemptLog(join(dir, '3.log'), 3)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads --since as a duration or a time', () => {
    expect(sinceToEpochMs('1h30m', 10_000_000)).toBe(10_000_000 - 5_400_000);
    expect(sinceToEpochMs('10s', 20_000)).toBe(10_000);
    expect(sinceToEpochMs('2024-01-01T00:00:00Z')).toBe(Date.parse('2024-01-01T00:00:00Z'));
    expect(() => sinceToEpochMs('yesterday')).toThrow(/--since "yesterday"/);
  });
});

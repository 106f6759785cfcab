import { describe, expect, it } from 'vitest';
import { exitCodeOf } from '../../../src/cli/exec.js';
import { parsePortPair } from '../../../src/cli/port-forward.js';
import { parseResize } from '../../../src/stream/remotecommand-ws.js';
import { statusJson, statusText } from '../../../src/stream/status.js';

describe('error stream Status', () => {
  it('is Success for 0 and NonZeroExitCode with an ExitCode cause otherwise', () => {
    expect(JSON.parse(statusJson({ exitCode: 0 }))).toEqual({ metadata: {}, status: 'Success' });
    expect(JSON.parse(statusJson({ exitCode: 42 }))).toMatchObject({
      status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '42' }] },
    });
    expect(JSON.parse(statusJson({ exitCode: null, error: 'boom' }))).toMatchObject({ status: 'Failure', reason: 'InternalError', code: 500 });
    expect(statusText({ exitCode: 0 })).toBe('');
    expect(statusText({ exitCode: 2 })).toContain('exit status 2');
  });

  it('round-trips through the CLI\'s reading of it', () => {
    expect(exitCodeOf(statusJson({ exitCode: 0 }))).toBe(0);
    expect(exitCodeOf(statusJson({ exitCode: 7 }))).toBe(7);
  });
});

describe('resize messages and port pairs', () => {
  it('accepts {Width, Height} within uint16 and refuses the rest', () => {
    expect(parseResize(Buffer.from('{"Width":80,"Height":24}'))).toEqual({ width: 80, height: 24 });
    expect(parseResize(Buffer.from('{"Width":70000,"Height":24}'))).toBeNull();
    expect(parseResize(Buffer.from('{"Width":-1,"Height":24}'))).toBeNull();
    expect(parseResize(Buffer.from('not json'))).toBeNull();
  });

  it('reads LOCAL:REMOTE, :REMOTE and REMOTE', () => {
    expect(parsePortPair('8080:80')).toEqual({ local: 8080, remote: 80 });
    expect(parsePortPair('0:80')).toEqual({ local: 0, remote: 80 });
    expect(parsePortPair('80')).toEqual({ local: 80, remote: 80 });
    expect(() => parsePortPair('1:99999')).toThrow(/LOCAL:REMOTE/);
    expect(() => parsePortPair('a:b')).toThrow(/LOCAL:REMOTE/);
  });
});

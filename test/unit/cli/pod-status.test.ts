// kubectl's STATUS column for the pods `keelson run` started (src/cli/pod-status.ts).
import { describe, expect, it } from 'vitest';
import { podStatus, type AppContainerState, type InitContainerState } from '../../../src/cli/pod-status.js';

const NOW = 1_000_000;
const running = (ready = true): AppContainerState => ({ state: 'running', ready, exitCode: 0, reason: '', restartAt: 0 });
const exited = (exitCode: number, reason: string, restartAt = 0): AppContainerState => ({ state: 'exited', ready: false, exitCode, reason, restartAt });
const init = (state: InitContainerState['state'], exitCode = 0, reason = '', final = false): InitContainerState => ({ state, exitCode, reason, final });

describe('podStatus', () => {
  it('names the first unfinished init container as kubectl does', () => {
    expect(podStatus(true, [init('exited', 0, 'Completed'), init('running')], [], NOW)).toBe('Init:1/2');
    expect(podStatus(true, [init('missing')], [], NOW)).toBe('Init:0/1');
    expect(podStatus(true, [init('exited', 2, 'Error', true)], [], NOW)).toBe('Init:Error');
    expect(podStatus(true, [init('exited', 137, 'OOMKilled', true)], [], NOW)).toBe('Init:OOMKilled');
    expect(podStatus(true, [init('exited', 1, 'Error', false)], [], NOW)).toBe('Init:CrashLoopBackOff');
  });

  it('takes the app containers\' reasons once init is done', () => {
    const done = [init('exited', 0, 'Completed')];
    expect(podStatus(true, done, [running()], NOW)).toBe('Running');
    expect(podStatus(true, done, [exited(137, 'OOMKilled')], NOW)).toBe('OOMKilled');
    expect(podStatus(true, [], [exited(0, 'Completed'), exited(0, 'Completed')], NOW)).toBe('Completed');
    expect(podStatus(true, [], [running(), exited(5, 'Error')], NOW)).toBe('Error');
    expect(podStatus(true, [], [running(), exited(0, 'Completed')], NOW)).toBe('NotReady');
    expect(podStatus(true, [], [exited(1, 'Error', NOW + 5000)], NOW)).toBe('CrashLoopBackOff');
    // A restart due now (the first one, at once) is not a backoff.
    expect(podStatus(true, [], [exited(1, 'Error', NOW)], NOW)).toBe('Error');
    expect(podStatus(true, [], [{ state: 'waiting', ready: false, exitCode: 0, reason: '', restartAt: 0 }], NOW)).toBe('ContainerCreating');
    expect(podStatus(false, [], [running()], NOW)).toBe('Stopped');
  });
});

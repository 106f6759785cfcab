// killProcessTree refuses pids whose "tree" is not one process's: 0 (what Number('') gives for
// an empty pid file) has init and kthreadd as children, so its tree is every process.
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors.js';
import { killProcessTree } from '../../../src/runtime/process-tree.js';

describe('killProcessTree', () => {
  it.each([0, 1, -1, Number.NaN, 1.5])('refuses pid %s', (pid) => {
    expect(() => killProcessTree(pid)).toThrow(InvalidArgumentError);
  });
});

import { describe, expect, it } from 'vitest';
import { expand, lookupIn } from '../../../src/run/expansion.js';

const env = lookupIn(new Map([['VAR', 'v'], ['EMPTY', ''], ['MESSAGE', 'hello world']]));

describe('expand ($(VAR) as kubelet)', () => {
  it.each([
    ['$(VAR)', 'v'],
    ['a$(VAR)b$(VAR)', 'avbv'],
    ['$(EMPTY)x', 'x'],
    ['$(UNDEFINED)', '$(UNDEFINED)'],
    ['$$(VAR)', '$(VAR)'],
    ['$$$(VAR)', '$v'],
    ['$$$$(VAR)', '$$(VAR)'],
    ['$$', '$'],
    ['$', '$'],
    ['x$', 'x$'],
    ['$VAR', '$VAR'],
    ['$x$(VAR)', '$xv'],
    ['$(VAR', '$(VAR'],
    ['$(', '$('],
    ['$()', '$()'],
    ['$(VAR)$', 'v$'],
    ['$(MESSAGE)', 'hello world'],
    ['no refs', 'no refs'],
    ['$($(VAR))', '$($(VAR))'],
  ])('%s -> %s', (input, want) => {
    expect(expand(input, env)).toBe(want);
  });

  it('tries maps in order', () => {
    const l = lookupIn(new Map([['A', '1']]), new Map([['A', '2'], ['B', '3']]));
    expect(expand('$(A)$(B)', l)).toBe('13');
  });
});

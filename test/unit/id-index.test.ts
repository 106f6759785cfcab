import { describe, expect, it } from 'vitest';
import { findById, matchIds } from '../../src/id-index.js';

const a = 'a'.repeat(64);
const ab = `ab${'0'.repeat(62)}`;
const c = { id: 'c'.repeat(64), names: ['web', 'pod/web'], attemptKey: 'pod/web', attempt: 0 };
const c1 = { id: `c1${'0'.repeat(62)}`, names: ['web', 'pod/web'], attemptKey: 'pod/web', attempt: 1 };

describe('the id index', () => {
  it('takes the full id first, then names, then a unique prefix', () => {
    const items = [{ id: a }, { id: ab, names: [a.slice(0, 5)] }];
    expect(matchIds(items, a)).toEqual([{ id: a }]);
    // A name beats a prefix it happens to look like.
    expect(matchIds(items, 'aaaaa')).toEqual([{ id: ab, names: ['aaaaa'] }]);
    expect(findById(items, 'ab', 'pod').id).toBe(ab);
    expect(() => findById(items, 'a', 'pod')).toThrow(/pod "a" is ambiguous: it matches 2/);
    expect(() => findById(items, 'ff', 'pod')).toThrow(/pod "ff" not found/);
    expect(() => findById(items, '', 'pod')).toThrow(/not found/);
    expect(matchIds(items, 'not-hex')).toEqual([]);
  });

  it('means the newest attempt when attempts of one container match', () => {
    expect(findById([c, c1], 'web', 'container').id).toBe(c1.id);
    expect(findById([c, c1], 'c', 'container').id).toBe(c1.id);
  });

  it('matches image ids with or without sha256:', () => {
    const img = { id: `sha256:${'d'.repeat(64)}` };
    expect(findById([img], 'ddd', 'image')).toBe(img);
    expect(findById([img], 'sha256:ddd', 'image')).toBe(img);
    expect(findById([img], 'd'.repeat(64), 'image')).toBe(img);
  });
});

import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { AmbiguousIdError, findById, matchIds, shortId } from '../../src/id-index.js';

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

  it('answers an ambiguous ref with AmbiguousIdError (InvalidArgument), not NotFound', () => {
    const err = (() => { try { findById([{ id: a }, { id: ab }], 'a', 'container'); } catch (e) { return e; } return null; })();
    expect(err).toBeInstanceOf(AmbiguousIdError);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as AmbiguousIdError).kind).toBe('InvalidArgument');
    expect((err as Error).message).toContain(`${'a'.repeat(12)}, ab${'0'.repeat(10)}`);
  });

  it('cuts ids short the same way everywhere', () => {
    expect(shortId(a)).toBe('a'.repeat(13));
    expect(shortId(a, 12)).toBe('a'.repeat(12));
    expect(shortId(undefined)).toBe('');
  });
});

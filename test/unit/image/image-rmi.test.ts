// docker rmi's rules for what one image id may remove without --force (src/image/image-rmi.ts).
import { describe, expect, it } from 'vitest';
import { isSingleReference, repositoryOf } from '../../../src/image/image-rmi.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('repositoryOf', () => {
  it('strips a tag or a digest, keeping a registry port', () => {
    expect(repositoryOf('127.0.0.1:5000/app/web:v1')).toBe('127.0.0.1:5000/app/web');
    expect(repositoryOf(`127.0.0.1:5000/app/web@${D}`)).toBe('127.0.0.1:5000/app/web');
    expect(repositoryOf('127.0.0.1:5000/app/web')).toBe('127.0.0.1:5000/app/web');
  });
});

describe('isSingleReference', () => {
  it('allows one tag with the digests of its own repository', () => {
    expect(isSingleReference({ repoTags: ['r.io/a:v1'], repoDigests: [`r.io/a@${D}`] })).toBe(true);
    expect(isSingleReference({ repoTags: [], repoDigests: [`r.io/a@${D}`] })).toBe(true);
  });

  it('refuses two tags, even of one repository, and digests of another repository', () => {
    expect(isSingleReference({ repoTags: ['r.io/a:v1', 'r.io/a:v2'], repoDigests: [`r.io/a@${D}`] })).toBe(false);
    expect(isSingleReference({ repoTags: ['r.io/a:v1'], repoDigests: [`r.io/b@${D}`] })).toBe(false);
    expect(isSingleReference({ repoTags: [], repoDigests: [`r.io/a@${D}`, `r.io/b@${D}`] })).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { formatReference, parseReference } from '../../../src/image/reference.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['user/app', 'docker.io/user/app:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['index.docker.io/library/busybox:x', 'docker.io/library/busybox:x'],
    ['registry.k8s.io/pause:3.9', 'registry.k8s.io/pause:3.9'],
    ['localhost/app', 'localhost/app:latest'],
    ['127.0.0.1:5000/a/b/c:v1', '127.0.0.1:5000/a/b/c:v1'],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`],
    [`127.0.0.1:5000/a:t@${D}`, `127.0.0.1:5000/a:t@${D}`],
    ['a__b-c/e_f.g:T_1.x', 'docker.io/a__b-c/e_f.g:T_1.x'],
  ])('%s -> %s', (input, expected) => {
    expect(formatReference(parseReference(input))).toBe(expected);
  });

  it('splits the parts', () => {
    expect(parseReference(`127.0.0.1:5000/a/b:t@${D}`)).toEqual({
      registry: '127.0.0.1:5000', repository: 'a/b', tag: 't', digest: D,
    });
  });

  it.each([
    ['', /empty/],
    ['Busybox', /repository component "Busybox"/],
    ['busybox:', /tag ""/],
    ['busybox:-x', /tag "-x"/],
    ['busybox@sha256:abc', /digest "sha256:abc"/],
    [`busybox@md5:${'a'.repeat(32)}`, /digest/],
    ['a//b', /component ""/],
    ['a/b/', /component ""/],
    ['a/../b', /component "\.\."/],
    ['ho$t.io/x', /registry "ho\$t.io"/],
    [':tag', /no repository/],
  ])('rejects %j', (input, message) => {
    expect(() => parseReference(input)).toThrow(message);
  });
});

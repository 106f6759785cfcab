import { readFileSync } from 'node:fs';

/** keelson's own version, from package.json (one level above both src/ and dist/). */
export const KEELSON_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** The CRI API version keelson serves. */
export const CRI_API_VERSION = 'v1';

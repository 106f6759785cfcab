import { KEELSON_VERSION } from '../version.js';

export const VERSION_STRING = `keelson ${KEELSON_VERSION}`;

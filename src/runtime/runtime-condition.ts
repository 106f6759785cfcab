import type { Config } from '../config/schema.js';
import { findExecutable } from './find-executable.js';

export interface Condition {
  ready: boolean;
  reason: string;
  message: string;
}

/**
 * The runtime is ready when the monitor and the default OCI runtime can be run. Other
 * handlers that are missing are reported but do not make the node unready.
 */
export function runtimeCondition(config: Config): Condition {
  const missing: string[] = [];
  const conmon = findExecutable(config.conmon.path);
  if (!conmon) missing.push(`conmon ("${config.conmon.path}")`);
  const handler = config.runtime.handlers[config.runtime.default_handler];
  if (!handler || !findExecutable(handler.path)) {
    missing.push(`runtime handler ${config.runtime.default_handler} ("${handler?.path ?? '?'}")`);
  }
  if (missing.length > 0) {
    return { ready: false, reason: 'RuntimeBinaryMissing', message: `not found or not executable: ${missing.join(', ')}` };
  }
  return { ready: true, reason: '', message: '' };
}

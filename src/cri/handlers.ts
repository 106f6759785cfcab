import type { NodeInfo } from '../daemon/node-info.js';
import type { ImageHandlers, RuntimeHandlers } from './handler-types.js';
import { runtimeConfig } from './runtime-config.js';
import { status } from './status.js';
import { version } from './version.js';

export interface CriDependencies {
  node: NodeInfo;
}

/** The table of implemented RPCs. A method absent here answers UNIMPLEMENTED. */
export function criHandlers(deps: CriDependencies): { runtime: RuntimeHandlers; image: ImageHandlers } {
  return {
    runtime: {
      Version: version,
      Status: status(deps.node),
      RuntimeConfig: runtimeConfig(deps.node),
    },
    image: {},
  };
}

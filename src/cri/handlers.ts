import type { NodeInfo } from '../daemon/node-info.js';
import type { ImageHandlers, RuntimeHandlers } from './handler-types.js';
import { runtimeConfig } from './runtime-config.js';
import type { SandboxService } from '../sandbox/service.js';
import { runPodSandbox } from './sandbox-run.js';
import { stopPodSandbox } from './sandbox-stop.js';
import { removePodSandbox } from './sandbox-remove.js';
import { podSandboxStatus } from './sandbox-status.js';
import { listPodSandbox } from './sandbox-list.js';
import { listPodSandboxStats, podSandboxStats } from './sandbox-stats.js';
import { status } from './status.js';
import { version } from './version.js';

export interface CriDependencies {
  node: NodeInfo;
  sandboxes?: SandboxService;
}

/** The table of implemented RPCs. A method absent here answers UNIMPLEMENTED. */
export function criHandlers(deps: CriDependencies): { runtime: RuntimeHandlers; image: ImageHandlers } {
  return {
    runtime: {
      Version: version,
      Status: status(deps.node),
      RuntimeConfig: runtimeConfig(deps.node),
      ...(deps.sandboxes ? sandboxHandlers(deps.sandboxes) : {}),
    },
    image: {},
  };
}

function sandboxHandlers(sandboxes: SandboxService): RuntimeHandlers {
  return {
    RunPodSandbox: runPodSandbox(sandboxes),
    StopPodSandbox: stopPodSandbox(sandboxes),
    RemovePodSandbox: removePodSandbox(sandboxes),
    PodSandboxStatus: podSandboxStatus(sandboxes),
    ListPodSandbox: listPodSandbox(sandboxes),
    PodSandboxStats: podSandboxStats(sandboxes),
    ListPodSandboxStats: listPodSandboxStats(sandboxes),
  };
}

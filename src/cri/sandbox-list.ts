import type { SandboxService } from '../sandbox/service.js';
import type { SandboxRecord } from '../sandbox/types.js';
import type { ListPodSandboxRequest, ListPodSandboxResponse } from './generated/cri-types.js';

/** Filters as containerd applies them: id prefix, state, every label of the selector. */
export function listPodSandbox(sandboxes: SandboxService) {
  return async (request: ListPodSandboxRequest): Promise<ListPodSandboxResponse> => {
    const f = request.filter ?? {};
    const items = sandboxes.list()
      .filter((r) => r.phase !== 'creating')
      .filter((r) => !f.id || r.id.startsWith(f.id))
      .filter((r) => !f.state?.state || r.state === f.state.state)
      .filter((r) => matchesLabels(r, f.label_selector ?? {}))
      .map((r) => ({
        id: r.id, metadata: { ...r.metadata }, state: r.state, created_at: r.createdAt,
        labels: r.labels, annotations: r.annotations, runtime_handler: r.runtimeHandler,
      }));
    return { items };
  };
}

export function matchesLabels(r: SandboxRecord, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => r.labels[k] === v);
}

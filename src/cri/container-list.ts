import type { ContainerService } from '../container/service.js';
import type { ListContainersRequest, ListContainersResponse } from './generated/cri-types.js';
import { fromCriState, toCriContainer } from './container-convert.js';

export function containerList(service: ContainerService) {
  return async (req: ListContainersRequest): Promise<ListContainersResponse> => {
    const f = req.filter;
    const records = await service.list({
      id: f?.id || undefined,
      state: f?.state?.state ? fromCriState(f.state.state) : undefined,
      sandboxId: f?.pod_sandbox_id || undefined,
      labelSelector: f?.label_selector ?? undefined,
    });
    return { containers: records.map(toCriContainer) };
  };
}

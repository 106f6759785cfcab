import { join } from 'node:path';

/**
 * Where a sandbox lives on disk: files for containers to mount under <root>/sandboxes/<id>,
 * runtime state (pinned namespaces, the shm mount) under <state>/sandboxes/<id>.
 */
export class SandboxLayout {
  constructor(readonly root: string, readonly state: string) {}

  filesRoot(): string {
    return join(this.root, 'sandboxes');
  }

  stateRoot(): string {
    return join(this.state, 'sandboxes');
  }

  filesDir(id: string): string {
    return join(this.filesRoot(), id);
  }

  stateDir(id: string): string {
    return join(this.stateRoot(), id);
  }

  namespace(id: string, kind: 'net' | 'ipc' | 'uts'): string {
    return join(this.stateDir(id), 'ns', kind);
  }

  /** The bundle of the pod's infra process (pod-shared PID namespace). */
  infraBundle(id: string): string {
    return join(this.stateDir(id), 'infra');
  }

  shm(id: string): string {
    return join(this.stateDir(id), 'shm');
  }
}

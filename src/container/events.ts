// An in-process bus of container lifecycle events, for GetContainerEvents (evented PLEG).

import { EventEmitter } from 'node:events';

export type ContainerEventType = 'created' | 'started' | 'stopped' | 'deleted';

export interface ContainerEvent {
  containerId: string;
  sandboxId: string;
  type: ContainerEventType;
  /** ns since epoch */
  createdAt: string;
}

export class ContainerEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publish(event: ContainerEvent): void {
    this.emitter.emit('event', event);
  }

  /** Calls `listener` for every later event; returns the unsubscribe function. */
  subscribe(listener: (event: ContainerEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}

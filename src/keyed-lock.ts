// One async lock per key (a pod, container, volume or blob id): calls for the same key run
// one at a time, in the order they came; calls for different keys never wait on each other.

export class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = previous.then(() => mine);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** True while a call for key runs or waits. */
  held(key: string): boolean {
    return this.#tails.has(key);
  }
}

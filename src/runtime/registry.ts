// The runtime handlers (RuntimeClass names) and the one OCI runtime driver each has, built
// once for the daemon: a handler is an OCI runtime binary (runc, or crun, which takes the
// same CLI) with a runtime root of its own under the state dir, run under conmon. Containers
// and pod infra processes use the same handlers with separate exit dirs, so the container
// service never mistakes an infra exit for a container's.

import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { InvalidArgumentError } from '../errors.js';
import type { Logger } from '../logger.js';
import { ConmonRuntime } from './conmon.js';
import { findExecutable } from './find-executable.js';
import { RuncCli } from './runc.js';
import type { OciRuntime } from './runtime.js';

/** Which kind of process a runtime is asked to run: its monitors report exits to their own dir. */
export type RuntimeUse = 'containers' | 'infra';

export interface RuntimeRegistryOptions {
  conmonPath: string;
  /** Handler name -> OCI runtime binary (absolute path); handlers whose binary is missing are left out. */
  handlers: Record<string, string>;
  state: string;
}

export class RuntimeRegistry {
  readonly #runtimes = new Map<string, Record<RuntimeUse, OciRuntime> & { cli: RuncCli }>();

  constructor(readonly opts: RuntimeRegistryOptions) {
    for (const [name, binary] of Object.entries(opts.handlers)) {
      const runc = new RuncCli(binary, this.runtimeRoot(name), this.scratchDir);
      this.#runtimes.set(name, {
        cli: runc,
        containers: new ConmonRuntime(opts.conmonPath, runc, this.exitDir('containers')),
        infra: new ConmonRuntime(opts.conmonPath, runc, this.exitDir('infra')),
      });
    }
  }

  /** Per-call files of runc exec/update and of streaming execs; emptied by init(). */
  get scratchDir(): string {
    return join(this.opts.state, 'exec');
  }

  /**
   * Empties the scratch dir: no call is in flight when the daemon starts, so whatever is
   * there was left by a daemon that was killed mid-call.
   */
  async init(): Promise<void> {
    await rm(this.scratchDir, { recursive: true, force: true });
    await mkdir(this.scratchDir, { recursive: true, mode: 0o700 });
  }

  /** Handler names that can run, in config order. */
  names(): string[] {
    return [...this.#runtimes.keys()];
  }

  has(handler: string): boolean {
    return this.#runtimes.has(handler);
  }

  /** The driver of a handler; InvalidArgument naming it when it is not configured or its binary is missing. */
  runtime(handler: string, use: RuntimeUse = 'containers'): OciRuntime {
    const runtimes = this.#runtimes.get(handler);
    if (!runtimes) throw new InvalidArgumentError(`runtime handler "${handler}" is not configured`);
    return runtimes[use];
  }

  /** The OCI runtime CLI of a handler, for what conmon does not drive (checkpoint); InvalidArgument like runtime(). */
  cli(handler: string): RuncCli {
    const runtimes = this.#runtimes.get(handler);
    if (!runtimes) throw new InvalidArgumentError(`runtime handler "${handler}" is not configured`);
    return runtimes.cli;
  }

  /** All drivers for one use (for sweeping leftovers of every handler). */
  all(use: RuntimeUse = 'containers'): OciRuntime[] {
    return [...this.#runtimes.values()].map((r) => r[use]);
  }

  /** The runtime root (`--root`) of a handler: keelson's own, never the host's default. */
  runtimeRoot(handler: string): string {
    return join(this.opts.state, 'runtimes', handler);
  }

  /** Where conmon writes exit files for one use. */
  exitDir(use: RuntimeUse): string {
    return join(this.opts.state, use === 'containers' ? 'exits' : 'infra-exits');
  }
}

/** The registry the config describes: binaries looked up on PATH, missing ones warned about and left out. */
export function runtimeRegistryFromConfig(config: Config, log: Logger): RuntimeRegistry {
  const handlers: Record<string, string> = {};
  for (const [name, handler] of Object.entries(config.runtime.handlers)) {
    const binary = findExecutable(handler.path);
    if (binary) handlers[name] = binary;
    else log.warn({ handler: name, path: handler.path }, 'runtime handler binary not found; the handler is unusable');
  }
  return new RuntimeRegistry({ conmonPath: findExecutable(config.conmon.path) ?? config.conmon.path, handlers, state: config.state });
}

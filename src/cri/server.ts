import { chmod } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../logger.js';
import { UnimplementedError, messageOf } from '../errors.js';
import type { ImageHandlers, ImageStreamHandlers, RuntimeHandlers, RuntimeStreamHandlers, ServerStream } from './handler-types.js';
import { criServices } from './proto.js';
import { grpcCodeOf, toServiceError } from './grpc-status.js';

type AnyUnary = (request: unknown) => Promise<unknown>;
type AnyServerStream = (request: unknown, stream: ServerStream<unknown>) => Promise<void>;

/**
 * Builds the implementation of one service: the given handlers for their methods, an
 * UNIMPLEMENTED answer naming the method for every other one.
 */
function implement(
  serviceName: string,
  definition: grpc.ServiceDefinition,
  handlers: Record<string, AnyUnary | undefined>,
  log: Logger,
  streams: Record<string, AnyServerStream | undefined> = {},
): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [method, def] of Object.entries(definition)) {
    const fullName = `runtime.v1.${serviceName}/${method}`;
    const handler = handlers[method];
    const streamHandler = streams[method];
    if (def.responseStream && !def.requestStream && streamHandler) {
      impl[method] = serveStream(fullName, streamHandler, log);
      continue;
    }
    if (def.requestStream || def.responseStream || !handler) {
      impl[method] = unimplemented(fullName, def.responseStream && !def.requestStream);
      continue;
    }
    impl[method] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const started = process.hrtime.bigint();
      handler(call.request).then(
        (response) => {
          log.debug({ method: fullName, ms: msSince(started) }, 'cri call');
          callback(null, response);
        },
        (err: unknown) => {
          const code = grpcCodeOf(err);
          const level = code === grpc.status.UNKNOWN ? 'error' : 'info';
          log[level]({ method: fullName, ms: msSince(started), code, err: messageOf(err) }, 'cri call failed');
          callback(toServiceError(err));
        },
      );
    };
  }
  return impl;
}

function serveStream(fullName: string, handler: AnyServerStream, log: Logger): grpc.UntypedHandleCall {
  return (call: grpc.ServerWritableStream<unknown, unknown>) => {
    let cancelled = false;
    const listeners: Array<() => void> = [];
    const cancel = (): void => {
      if (cancelled) return;
      cancelled = true;
      for (const l of listeners.splice(0)) l();
    };
    call.on('cancelled', cancel);
    call.on('close', cancel);
    const stream: ServerStream<unknown> = {
      write: (message) => !cancelled && call.write(message),
      drain: () => new Promise<void>((resolve) => {
        if (cancelled) return resolve();
        call.once('drain', () => resolve());
        listeners.push(resolve);
      }),
      get cancelled() { return cancelled; },
      onCancel: (listener) => { if (cancelled) listener(); else listeners.push(listener); },
    };
    handler(call.request, stream).then(
      () => { if (!cancelled) call.end(); },
      (err: unknown) => {
        log.info({ method: fullName, code: grpcCodeOf(err), err: messageOf(err) }, 'cri stream failed');
        if (!cancelled) call.emit('error', toServiceError(err));
      },
    );
  };
}

function unimplemented(fullName: string, serverStream: boolean): grpc.UntypedHandleCall {
  const error = toServiceError(new UnimplementedError(`keelson does not implement ${fullName} yet`));
  if (serverStream) {
    return (call: grpc.ServerWritableStream<unknown, unknown>) => {
      call.emit('error', error);
    };
  }
  return (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
    callback(error);
  };
}

function msSince(start: bigint): number {
  return Number((process.hrtime.bigint() - start) / 1000n) / 1000;
}

export interface CriServerOptions {
  socketPath: string;
  runtime: RuntimeHandlers;
  image: ImageHandlers;
  /** Server-streaming runtime RPCs (GetContainerEvents, the Stream* lists). */
  runtimeStreams?: RuntimeStreamHandlers;
  /** Server-streaming image RPCs (StreamImages). */
  imageStreams?: ImageStreamHandlers;
  log: Logger;
  /** keelson-only services on the same socket (e.g. image import). */
  extraServices?: Array<{ definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation }>;
}

/** The CRI gRPC server on a unix socket (mode 0660, as the socket of containerd and CRI-O). */
export class CriServer {
  private readonly server = new grpc.Server({ 'grpc.max_receive_message_length': 16 << 20 });

  constructor(private readonly opts: CriServerOptions) {
    const services = criServices();
    this.server.addService(
      services.RuntimeService,
      implement('RuntimeService', services.RuntimeService, opts.runtime as Record<string, AnyUnary>, opts.log,
        (opts.runtimeStreams ?? {}) as Record<string, AnyServerStream>),
    );
    this.server.addService(
      services.ImageService,
      implement('ImageService', services.ImageService, opts.image as Record<string, AnyUnary>, opts.log,
        (opts.imageStreams ?? {}) as Record<string, AnyServerStream>),
    );
    for (const extra of opts.extraServices ?? []) this.server.addService(extra.definition, extra.implementation);
  }

  async listen(): Promise<void> {
    const { socketPath } = this.opts;
    // The umask makes the socket 0660 from its creation; chmod states it for certain.
    const previous = process.umask(0o117);
    try {
      await new Promise<void>((resolve, reject) => {
        this.server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) =>
          err ? reject(new Error(`cannot listen on ${socketPath}: ${err.message}`)) : resolve(),
        );
      });
    } finally {
      process.umask(previous);
    }
    await chmod(socketPath, 0o660);
  }

  /** Lets calls in flight finish for a while, then cuts the rest. */
  async close(graceMs = 5000): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

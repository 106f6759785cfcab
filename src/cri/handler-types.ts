import type { ImageServiceMethods, RuntimeServiceMethods } from './generated/cri-types.js';

type UnaryNames<S> = {
  [M in keyof S]: S[M] extends { requestStream: false; responseStream: false } ? M : never;
}[keyof S];

type UnaryHandlers<S extends { [M in keyof S]: { request: unknown; response: unknown } }> = {
  [M in UnaryNames<S> & keyof S]: (request: S[M]['request']) => Promise<S[M]['response']>;
};

/** Handlers for the unary RPCs that keelson implements; the rest answer UNIMPLEMENTED. */
export type RuntimeHandlers = Partial<UnaryHandlers<RuntimeServiceMethods>>;
export type ImageHandlers = Partial<UnaryHandlers<ImageServiceMethods>>;

/** The sending side of a server-streaming call. */
export interface ServerStream<T> {
  /** False when the send buffer is full: wait for drain() before writing more. */
  write(message: T): boolean;
  /** Settles once the send buffer has room again, or the client went away. */
  drain(): Promise<void>;
  /** True once the client went away. */
  readonly cancelled: boolean;
  /** Called once when the client cancels or disconnects. */
  onCancel(listener: () => void): void;
}

type ServerStreamNames<S> = {
  [M in keyof S]: S[M] extends { requestStream: false; responseStream: true } ? M : never;
}[keyof S];

type StreamHandlers<S extends { [M in keyof S]: { request: unknown; response: unknown } }> = {
  [M in ServerStreamNames<S> & keyof S]: (request: S[M]['request'], stream: ServerStream<S[M]['response']>) => Promise<void>;
};

/** Server-streaming RPCs keelson implements; the handler's promise settles when the stream ends. */
export type RuntimeStreamHandlers = Partial<StreamHandlers<RuntimeServiceMethods>>;
export type ImageStreamHandlers = Partial<StreamHandlers<ImageServiceMethods>>;

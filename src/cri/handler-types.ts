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

// The Stream* RPCs (KEP-5825, CRI list streaming): the same filters and items as the unary
// List* RPC, sent as a stream of small batches so no single message nears gRPC's 16 MiB cap
// on a node with tens of thousands of containers. The send side waits for the client to read
// (drain) before it queues more, so a slow client holds at most a few batches in memory.
import type { ServerStream } from './handler-types.js';

/** Items per message: ~1.5 KB per container (the KEP's estimate) makes ~150 KB a message. */
export const STREAM_BATCH = 100;

/**
 * A stream handler from a unary list: `list` answers the request as the unary RPC would,
 * `items` takes the array out of its answer, `wrap` puts a batch into the stream's message.
 */
export function streamFromList<Req, ListRes, Item, StreamRes>(
  list: (request: Req) => Promise<ListRes>,
  items: (response: ListRes) => Item[] | null | undefined,
  wrap: (batch: Item[]) => StreamRes,
  batch = STREAM_BATCH,
) {
  return async (request: Req, stream: ServerStream<StreamRes>): Promise<void> => {
    const all = items(await list(request)) ?? [];
    for (let i = 0; i < all.length && !stream.cancelled; i += batch) {
      if (!stream.write(wrap(all.slice(i, i + batch)))) await stream.drain();
    }
  };
}

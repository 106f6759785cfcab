// streamFromList's batching and its wait for the client to read (back-pressure).
import { describe, expect, it } from 'vitest';
import type { ServerStream } from '../../../src/cri/handler-types.js';
import { streamFromList } from '../../../src/cri/stream-lists.js';

/** A send side whose buffer takes `room` messages before the client must read. */
function slowStream(room: number): { stream: ServerStream<{ batch: number[] }>; sent: number[][]; drains: () => number; cancel: () => void } {
  const sent: number[][] = [];
  let queued = 0;
  let drains = 0;
  let cancelled = false;
  const stream: ServerStream<{ batch: number[] }> = {
    write: (m) => { sent.push(m.batch); queued++; return queued < room; },
    drain: async () => { drains++; await new Promise((r) => setTimeout(r, 1)); queued = 0; },
    get cancelled() { return cancelled; },
    onCancel: () => undefined,
  };
  return { stream, sent, drains: () => drains, cancel: () => { cancelled = true; } };
}

const list = (n: number) => async (): Promise<{ items: number[] }> => ({ items: Array.from({ length: n }, (_, i) => i) });

describe('streamFromList', () => {
  it('sends every item once, in order, in batches of at most the batch size', async () => {
    const s = slowStream(1000);
    await streamFromList(list(25), (r) => r.items, (batch) => ({ batch }), 10)({}, s.stream);
    expect(s.sent.map((b) => b.length)).toEqual([10, 10, 5]);
    expect(s.sent.flat()).toEqual(Array.from({ length: 25 }, (_, i) => i));
  });

  it('waits for the client to read when the buffer is full', async () => {
    const s = slowStream(2);
    await streamFromList(list(50), (r) => r.items, (batch) => ({ batch }), 5)({}, s.stream);
    expect(s.sent.flat().length).toBe(50);
    expect(s.drains()).toBe(5); // ten messages, a wait after every second one
  });

  it('sends nothing for an empty list and stops when the client goes away', async () => {
    const empty = slowStream(10);
    await streamFromList(list(0), (r) => r.items, (batch) => ({ batch }))({}, empty.stream);
    expect(empty.sent).toEqual([]);
    const gone = slowStream(1);
    const origDrain = gone.stream.drain;
    gone.stream.drain = async () => { gone.cancel(); await origDrain(); };
    await streamFromList(list(30), (r) => r.items, (batch) => ({ batch }), 10)({}, gone.stream);
    expect(gone.sent.length).toBe(1);
  });
});

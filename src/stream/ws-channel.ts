// The channel frames of the k8s.io WebSocket subprotocols (remotecommand and port-forward,
// server and client): a binary message is one channel byte + payload; under the base64
// variants (and for any text message) it is the channel as an ASCII digit ('0' + n) + the
// payload in base64.

export interface ChannelFrame {
  channel: number;
  payload: Buffer;
}

/** One received message as a frame; null when it is empty. */
export function decodeChannelFrame(raw: Buffer, isBinary: boolean, base64: boolean): ChannelFrame | null {
  if (!isBinary || base64) {
    const text = raw.toString();
    if (text.length === 0) return null;
    return { channel: (text.charCodeAt(0) - 48) & 0xff, payload: Buffer.from(text.slice(1), 'base64') };
  }
  if (raw.length === 0) return null;
  return { channel: raw[0] as number, payload: raw.subarray(1) };
}

/** One frame as the message to send. */
export function encodeChannelFrame(channel: number, data: Buffer, base64: boolean): Buffer | string {
  return base64 ? String.fromCharCode(48 + channel) + data.toString('base64') : Buffer.concat([Buffer.from([channel]), data]);
}

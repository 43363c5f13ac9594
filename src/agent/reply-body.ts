// Owns reading an agent's reply body, whole or as enveloped messages (1 flag byte, 4 length bytes, the message) as
// they arrive: never more than AI_MAX_REPLY_BYTES, never allocating a length the agent declares (an agent that
// declares gigabytes costs nothing, see unary-call.ts), each byte copied at most once more, and given up as soon
// as the call's signal aborts.
import { Code, ConnectError } from "@connectrpc/connect";

export interface Envelope {
  flags: number;
  data: Uint8Array;
}

const HEADER_BYTES = 5;

export function replyTooLarge(maxBytes: number): ConnectError {
  return new ConnectError(`the agent's reply is larger than AI_MAX_REPLY_BYTES (${maxBytes})`, Code.ResourceExhausted);
}

/** The whole body, refused as soon as it is known to be over `maxBytes` (by Content-Length or while reading). */
export async function readBody(response: Response, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
  if (Number(response.headers.get("content-length")) > maxBytes) {
    await response.body?.cancel();
    throw replyTooLarge(maxBytes);
  }
  const queue = new ByteQueue();
  for await (const chunk of chunksOf(response.body, maxBytes, signal)) queue.push(chunk);
  return queue.take(queue.length);
}

/** The body's envelopes in order. Reading stops, and the body is cancelled, when the caller stops iterating. */
export async function* readEnvelopes(response: Response, maxBytes: number, signal?: AbortSignal): AsyncGenerator<Envelope> {
  if (Number(response.headers.get("content-length")) > maxBytes) {
    await response.body?.cancel();
    throw replyTooLarge(maxBytes);
  }
  const queue = new ByteQueue();
  let length: number | null = null; // of the envelope being read, once its header is in
  let flags = 0;
  for await (const chunk of chunksOf(response.body, maxBytes, signal)) {
    queue.push(chunk);
    for (;;) {
      if (length === null) {
        if (queue.length < HEADER_BYTES) break;
        const header = queue.take(HEADER_BYTES);
        flags = header[0]!;
        length = new DataView(header.buffer, header.byteOffset + 1, 4).getUint32(0);
      }
      if (queue.length < length) break;
      const data = queue.take(length);
      length = null;
      yield { flags, data };
    }
  }
  if (length !== null || queue.length > 0) {
    throw new ConnectError(`protocol error: the reply ends inside an envelope${length === null ? " header" : ""}`, Code.Internal);
  }
}

/** The body's chunks, at most `maxBytes` in all; the body is cancelled when reading stops early. The signal is
 *  watched by one listener for the whole body (an abort cancels the reader, which ends the read waiting), not per
 *  chunk: a body need not error when its fetch is aborted. */
async function* chunksOf(body: ReadableStream<Uint8Array> | null, maxBytes: number, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  if (!body) return;
  signal?.throwIfAborted();
  const reader = body.getReader();
  const onAbort = () => void reader.cancel(signal?.reason).catch(() => undefined);
  signal?.addEventListener("abort", onAbort, { once: true });
  let total = 0;
  try {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (error) {
        signal?.throwIfAborted();
        throw error;
      }
      signal?.throwIfAborted();
      if (result.done) return;
      total += result.value.byteLength;
      if (total > maxBytes) throw replyTooLarge(maxBytes);
      yield result.value;
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    reader.cancel().catch(() => undefined);
  }
}

/** Bytes that arrived and are not read yet, as the chunks they came in: taking n bytes copies only those. */
class ByteQueue {
  private chunks: Uint8Array[] = [];
  length = 0;

  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.byteLength;
  }

  take(n: number): Uint8Array {
    const first = this.chunks[0];
    if (first && first.byteLength >= n) {
      // The common case: no copy.
      this.chunks[0] = first.subarray(n);
      if (this.chunks[0].byteLength === 0) this.chunks.shift();
      this.length -= n;
      return first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const used = Math.min(chunk.byteLength, n - filled);
      out.set(chunk.subarray(0, used), filled);
      filled += used;
      if (used === chunk.byteLength) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(used);
    }
    this.length -= n;
    return out;
  }
}

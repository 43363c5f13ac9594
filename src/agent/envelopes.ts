// Owns reading enveloped messages (1 flag byte, 4 length bytes, the message) from an agent's reply body as they
// arrive, for gRPC-web and Connect streaming. Only bytes that arrived are ever held, at most AI_MAX_REPLY_BYTES:
// a declared length is never allocated, so an agent that declares gigabytes costs nothing (see unary-call.ts).
import { Code, ConnectError } from "@connectrpc/connect";

export interface Envelope {
  flags: number;
  data: Uint8Array;
}

const HEADER_BYTES = 5;

export function replyTooLarge(maxBytes: number): ConnectError {
  return new ConnectError(`the agent's reply is larger than AI_MAX_REPLY_BYTES (${maxBytes})`, Code.ResourceExhausted);
}

/**
 * The body's envelopes in order, at most `maxBytes` in all. Reading stops, and the body is cancelled, when the
 * caller stops iterating or `signal` aborts (the generator then throws the signal's reason).
 */
export async function* readEnvelopes(body: ReadableStream<Uint8Array> | null, maxBytes: number, signal?: AbortSignal): AsyncGenerator<Envelope> {
  if (!body) return;
  const reader = body.getReader();
  let buffered: Uint8Array = new Uint8Array(0);
  let total = 0;
  try {
    for (;;) {
      while (buffered.byteLength >= HEADER_BYTES) {
        const length = new DataView(buffered.buffer, buffered.byteOffset + 1, 4).getUint32(0);
        if (buffered.byteLength < HEADER_BYTES + length) break;
        const envelope = { flags: buffered[0]!, data: buffered.subarray(HEADER_BYTES, HEADER_BYTES + length) };
        buffered = buffered.subarray(HEADER_BYTES + length);
        yield envelope;
      }
      const { done, value } = await readOrAbort(reader, signal);
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) throw replyTooLarge(maxBytes);
      buffered = buffered.byteLength === 0 ? value : concat(buffered, value);
    }
    if (buffered.byteLength > 0) {
      throw new ConnectError(`protocol error: the reply ends inside an envelope${buffered.byteLength < HEADER_BYTES ? " header" : ""}`, Code.Internal);
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

/** The next read, or the signal's reason as soon as it aborts (a body need not error when its fetch is aborted). */
function readOrAbort(reader: ReadableStreamDefaultReader<Uint8Array>, signal: AbortSignal | undefined): Promise<ReadableStreamReadResult<Uint8Array>> {
  if (!signal) return reader.read();
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    reader.read().then(
      (result) => {
        signal.removeEventListener("abort", onAbort);
        resolve(result);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.byteLength + b.byteLength);
  joined.set(a);
  joined.set(b, a.byteLength);
  return joined;
}

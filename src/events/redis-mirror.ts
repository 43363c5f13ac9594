// Owns writing chat events to the Redis stream over Upstash's REST protocol (@upstash/redis), idempotently:
// one stream entry per turn, however often the write is retried.
import { Redis } from "@upstash/redis/cloudflare";
import type { MirrorSettings } from "../config";
import { chatEventFields, type ChatEvent } from "./chat-event";

/** XADD only if this turn's marker is absent, then set the marker to the entry id: atomic in Redis. */
const ADD_ONCE = `
local existing = redis.call('GET', KEYS[2])
if existing then return existing end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
redis.call('SET', KEYS[2], id, 'EX', tonumber(ARGV[1]))
return id`;

export interface EventMirror {
  /** Adds the turn's entry unless it is already there; returns the stream entry id. */
  publish(turnKey: string, event: ChatEvent): Promise<string>;
}

export function createEventMirror({ url, token, stream, dedupTtlS }: MirrorSettings): EventMirror {
  // No client-side retries (`retry: false` still retries once): a failed write stays in the session's outbox
  // and is retried from there.
  const redis = new Redis({
    url,
    token,
    retry: { retries: 0 },
    enableAutoPipelining: false,
    automaticDeserialization: false,
    enableTelemetry: false,
  });
  return {
    async publish(turnKey, event) {
      const fields = Object.entries(chatEventFields(event)).flat();
      const marker = `${stream}:turn:${turnKey}`;
      return String(await redis.eval(ADD_ONCE, [stream, marker], [String(dedupTtlS), ...fields]));
    },
  };
}

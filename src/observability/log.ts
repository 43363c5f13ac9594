// Owns the backend's structured logs and metrics: one JSON line per HTTP request and per turn (what Workers Logs
// indexes when [observability] is on), and, when the TURN_METRICS Analytics Engine dataset is bound, one data
// point per turn for counts and latencies.

/** One turn as the logs and metrics see it. */
export interface TurnRecord {
  sessionId: string;
  userId: string;
  /** The client's request id, when it sent one. */
  requestId: string | null;
  model: string | null;
  /** The turn's number in its session (protocol v2), once it started. */
  turn: number | null;
  /** 0 for an answered turn, else the error code the client got. */
  code: number;
  cancelled: boolean;
  /** Answered from the idempotency log: nothing ran. */
  replayed: boolean;
  /** From the request to the reply. */
  replyMs: number | null;
  /** The agent call alone. */
  agentMs: number | null;
  chargeMicros: number;
}

export interface RequestRecord {
  method: string;
  path: string;
  status: number;
  ms: number;
  userId: string | null;
}

// Each line is written out once, by field, in one JSON.stringify of a literal: no generic key renaming, no second
// serialisation. What console.log itself costs is the runtime's (under `wrangler dev`, its inspector's).

export function logRequest(r: RequestRecord): void {
  console.log(JSON.stringify({ event: "request", method: r.method, path: r.path, status: r.status, ms: r.ms, user_id: r.userId }));
}

export function logTurn(r: TurnRecord, metrics: AnalyticsEngineDataset | null): void {
  console.log(
    JSON.stringify({
      event: "turn",
      session_id: r.sessionId,
      user_id: r.userId,
      request_id: r.requestId,
      model: r.model,
      turn: r.turn,
      code: r.code,
      cancelled: r.cancelled,
      replayed: r.replayed,
      reply_ms: r.replyMs,
      agent_ms: r.agentMs,
      charge_micros: r.chargeMicros,
    }),
  );
  metrics?.writeDataPoint({
    indexes: [r.userId],
    blobs: [r.model ?? "", String(r.code), r.cancelled ? "cancelled" : r.replayed ? "replayed" : "answered"],
    doubles: [r.replyMs ?? 0, r.agentMs ?? 0, r.chargeMicros],
  });
}

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

export function logRequest(record: RequestRecord): void {
  console.log(JSON.stringify({ event: "request", ...snakeCase(record) }));
}

export function logTurn(record: TurnRecord, metrics: AnalyticsEngineDataset | null): void {
  console.log(JSON.stringify({ event: "turn", ...snakeCase(record) }));
  metrics?.writeDataPoint({
    indexes: [record.userId],
    blobs: [record.model ?? "", String(record.code), record.cancelled ? "cancelled" : record.replayed ? "replayed" : "answered"],
    doubles: [record.replyMs ?? 0, record.agentMs ?? 0, record.chargeMicros],
  });
}

function snakeCase(record: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), value]));
}

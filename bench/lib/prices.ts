// Owns Cloudflare's published Workers Paid prices (as read on the date below, from the pages cited) and what the
// billable units the meter counted cost per million turns at those prices (usage beyond the plan's included amounts).

export const PRICES_READ_ON = "2026-12-07";

/** USD per million units, beyond what the Workers Paid plan ($5 a month) includes. */
export const PRICES = {
  workerRequests: 0.3,
  workerCpuMs: 0.02,
  doRequests: 0.15,
  doGbSeconds: 12.5,
  doRowsRead: 0.001,
  doRowsWritten: 1.0,
  d1RowsRead: 0.001,
  d1RowsWritten: 1.0,
} as const;

/** Durable Object duration bills 128 MB per active object, as GB-s (the pricing page's own example: 128 MB / 1 GB). */
export const DO_GB = 0.128;
/** Incoming WebSocket messages bill as Durable Object requests at 20:1. */
export const WS_MESSAGES_PER_REQUEST = 20;

export const PRICE_TABLE = `| unit | Workers Paid price (beyond the included amount) | included per month | source |
|---|---|---|---|
| Worker requests | $0.30 / million | 10 million | [Workers pricing](https://developers.cloudflare.com/workers/platform/pricing/) (inbound requests; "Cloudflare does not bill for subrequests you make from your Worker") |
| Worker CPU time | $0.02 / million CPU ms | 30 million CPU ms | [Workers pricing](https://developers.cloudflare.com/workers/platform/pricing/) |
| Durable Object requests | $0.15 / million | 1 million | [Durable Objects pricing](https://developers.cloudflare.com/durable-objects/platform/pricing/): HTTP requests, RPC sessions (every method call on a stub is one), WebSocket messages (incoming only, 20:1: 100 messages bill as 5 requests), alarm invocations |
| Durable Object duration | $12.50 / million GB-s | 400,000 GB-s | same page: wall-clock time while active (not while hibernatable), 128 MB per object |
| Durable Object rows read (SQLite) | $0.001 / million | 25 billion | same page: key-value calls (get, put, delete, list) bill as rows; each setAlarm() is one row written; deletes are rows written |
| Durable Object rows written (SQLite) | $1.00 / million | 50 million | same page |
| D1 rows read | $0.001 / million | 25 billion | [D1 pricing](https://developers.cloudflare.com/d1/platform/pricing/) |
| D1 rows written | $1.00 / million | 50 million | same page |`;

/** Billable units of one turn (or one connect), as counted or derived from the meter's counts. */
export interface Units {
  workerRequests: number;
  /** RPC calls and fetches on Durable Object stubs. */
  doCalls: number;
  wsMessages: number;
  alarms: number;
  /** Billed Durable Object requests: calls + WebSocket messages / 20 + alarms. */
  doRequests: number;
  doActiveMs: number;
  doGbSeconds: number;
  doRowsRead: number;
  doRowsWritten: number;
  d1RowsRead: number;
  d1RowsWritten: number;
  d1Queries: number;
  subrequests: number;
  /** Runtime processes' CPU ms (measured; not what a Durable Object bills, see the notes). */
  cpuMs: number;
}

/** The dollars of a million such turns, by unit, and their sum. Worker CPU is billed only where the Worker runs. */
export function costPerMillion(u: Units): { parts: Record<string, number>; total: number } {
  const parts = {
    "Worker requests": u.workerRequests * PRICES.workerRequests,
    "Durable Object requests": u.doRequests * PRICES.doRequests,
    "Durable Object duration": u.doGbSeconds * PRICES.doGbSeconds,
    "Durable Object rows read": u.doRowsRead * PRICES.doRowsRead,
    "Durable Object rows written": u.doRowsWritten * PRICES.doRowsWritten,
    "D1 rows read": u.d1RowsRead * PRICES.d1RowsRead,
    "D1 rows written": u.d1RowsWritten * PRICES.d1RowsWritten,
  };
  return { parts, total: Object.values(parts).reduce((a, b) => a + b, 0) };
}

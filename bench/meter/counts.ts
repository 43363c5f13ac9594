// The counts bench/meter/worker.ts keeps inside the runtime and serves at GET /__bench/meter (shared with the
// benchmark, which reads them).
export interface MeterCounts {
  workerRequests: number;
  /** Durable Object requests by "BINDING.method" (fetch included), counted where the stub is called. */
  doCalls: Record<string, number>;
  /** Incoming WebSocket messages by Durable Object class. */
  wsMessages: Record<string, number>;
  alarms: number;
  /** Milliseconds some handler of an object was running, summed over objects (overlapping handlers once). */
  doActiveMs: number;
  doRowsRead: number;
  doRowsWritten: number;
  d1RowsRead: number;
  d1RowsWritten: number;
  d1Queries: number;
  subrequests: Record<string, number>;
}

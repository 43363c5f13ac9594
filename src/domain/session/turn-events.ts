// Owns making a live turn's events (protocol v2, docs/protocol.md section 9; their type is protocol/turn-events.ts):
// how a reply's pieces become deltas of bounded size, and the events that replay a turn or say how it ended.
import type { TurnEvent } from "../../../protocol";

export type { TurnEvent };

/** How a turn ended, as kept for a resume: the end's and the cancel's message are the deltas put together. */
export type TurnOutcome = { event: "end" } | { event: "cancelled" } | { event: "error"; code: number; message: string };

/** A delta's largest text, in UTF-16 units: a stored delta stays far below Durable Object value limits. */
export const MAX_DELTA_CHARS = 16_384;

/** The piece split into deltas of at most MAX_DELTA_CHARS, never inside a surrogate pair; none for "". */
export function deltaTexts(piece: string): string[] {
  if (piece.length <= MAX_DELTA_CHARS) return piece === "" ? [] : [piece];
  const texts: string[] = [];
  for (let start = 0; start < piece.length; ) {
    let end = Math.min(start + MAX_DELTA_CHARS, piece.length);
    const last = piece.charCodeAt(end - 1);
    if (end < piece.length && last >= 0xd800 && last < 0xdc00) end--; // keep the pair together
    texts.push(piece.slice(start, end));
    start = end;
  }
  return texts;
}

/** The events that replay a turn's deltas after `afterSeq`, then how it ended, if it did. */
export function replayEvents(sessionId: string, turn: number, deltas: readonly string[], afterSeq: number, outcome: TurnOutcome | null): TurnEvent[] {
  const events: TurnEvent[] = [];
  for (let seq = Math.max(afterSeq + 1, 0); seq < deltas.length; seq++) {
    events.push({ session_id: sessionId, turn, event: "delta", seq, text: deltas[seq]!, replay: true });
  }
  if (outcome) events.push(outcomeEvent(sessionId, turn, outcome, deltas.join("")));
  return events;
}

export function outcomeEvent(sessionId: string, turn: number, outcome: TurnOutcome, reply: string): TurnEvent {
  if (outcome.event === "error") return { session_id: sessionId, turn, event: "error", code: outcome.code, message: outcome.message };
  return { session_id: sessionId, turn, event: outcome.event, message: reply };
}

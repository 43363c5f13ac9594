// Owns the events of a live turn (protocol v2, docs/protocol.md 9.2) as they go out in type-7 frames.

/** A live turn's event. Type aliases, not interfaces, here and in messages.ts: plain data that fits any
 *  `Record<string, unknown>`. */
export type TurnEvent =
  | { session_id: string; turn: number; event: "start"; session_name: string; user_message: string }
  | { session_id: string; turn: number; event: "delta"; seq: number; text: string; replay: boolean }
  | { session_id: string; turn: number; event: "end"; message: string }
  | { session_id: string; turn: number; event: "error"; code: number; message: string }
  | { session_id: string; turn: number; event: "cancelled"; message: string };

// Owns the shape of a chat event on the Redis stream (spec section 7): string fields per committed turn.
import type { HistoryEntry } from "../storage/chat-store";

export interface ChatEvent {
  userId: string;
  sessionId: string;
  sessionPrompt: string;
  modelId: number;
  /** The entries this turn added. */
  chats: HistoryEntry[];
  /** The rolling summary after this turn. */
  chatsSummary: string;
  sessionName: string;
  /** The turn that started the session's history. */
  isNew: boolean;
  /** The balance after this turn, micro-dollars. */
  balanceMicros: number;
}

export function chatEventFields(event: ChatEvent): Record<string, string> {
  return {
    userId: event.userId,
    sessionId: event.sessionId,
    sessionPrompt: event.sessionPrompt,
    modelId: String(event.modelId),
    chats: JSON.stringify(event.chats),
    chatsSummary: event.chatsSummary,
    sessionName: event.sessionName,
    isNew: event.isNew ? "new" : "old",
    balance: (event.balanceMicros / 1_000_000).toFixed(6),
  };
}

// Records the unit tests build: a session, its turn and summary writes, a chat event.
import type { ChatEvent } from "../../src/events/chat-event";
import type { SessionRecord, SessionWrite } from "../../src/storage/chat-store";

export const T0 = 1_700_000_000_000;

export const session: SessionRecord = {
  id: "8c5f5bd8-7d5e-4c4e-9a53-4f4f4f4f4f4f",
  userId: "user-1",
  modelId: 4,
  name: "First question",
  prompt: "Be brief.",
  summary: "",
  createdAt: T0,
  lastActiveAt: T0,
  streamed: false,
};

export function turnWrite(n: number, chargeMicros = 100, fields: Partial<SessionRecord> = {}): SessionWrite {
  return {
    kind: "turn",
    turn: {
      session: { ...session, lastActiveAt: T0 + n, ...fields },
      isNew: n === 0,
      entries: [
        { role: "user", content: `question ${n}` },
        { role: "assistant", content: `answer ${n}` },
      ],
      firstSeq: n * 2,
      chargeMicros,
      at: T0 + n,
    },
  };
}

export function summaryWrite(n: number, chargeMicros = 10): SessionWrite {
  return { kind: "summary", summary: { sessionId: session.id, userId: session.userId, summary: `summary ${n}`, chargeMicros, at: T0 + n } };
}

export function chatEvent(n: number): ChatEvent {
  return {
    userId: session.userId,
    sessionId: session.id,
    sessionPrompt: session.prompt,
    modelId: session.modelId,
    chats: [
      { role: "user", content: `question ${n}` },
      { role: "assistant", content: `answer ${n}` },
    ],
    chatsSummary: "",
    sessionName: session.name,
    isNew: n === 0,
    balanceMicros: 1_000_000 - n,
  };
}

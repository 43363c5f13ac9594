// Owns what the AI SDK transport remembers per chat, in a Storage-like key-value store (localStorage in a browser,
// so it survives a reload): which Chat-Backend session an AI SDK chat id is, and the turn it was streaming.
import { z } from "zod";

/** The part of the Web Storage API the transport uses; `localStorage` and `sessionStorage` fit. */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** A store in memory (the default outside a browser): forgotten with the process. */
export function memoryStorage(): KeyValueStorage {
  const items = new Map<string, string>();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

/** A turn the transport was streaming: enough to show its user message again and resume it after a reload.
 *  `file` is the file attached to it: its stored name (POST /upload's `fileName`), type, original name and the link
 *  the upload answered (`imageUrl`: signed with AUTH_MODE=token, so a browser can show it without a header). */
const RunningTurnSchema = z.object({
  sessionId: z.string(),
  turn: z.number().int().nonnegative(),
  userText: z.string(),
  file: z.object({ fileName: z.string(), mediaType: z.string(), filename: z.string().optional(), url: z.string().optional() }).optional(),
});
export type RunningTurn = z.infer<typeof RunningTurnSchema>;
export type StoredFile = NonNullable<RunningTurn["file"]>;

const PREFIX = "chat-backend.ai-sdk";

export class ChatStore {
  constructor(private readonly storage: KeyValueStorage) {}

  /** The session of an AI SDK chat id, or null for a chat that has not started one yet. */
  session(chatId: string): string | null {
    return this.storage.getItem(`${PREFIX}.session.${chatId}`);
  }

  /** The chat id that maps to a session, if one does. */
  chatOf(sessionId: string): string | null {
    return this.storage.getItem(`${PREFIX}.chat.${sessionId}`);
  }

  link(chatId: string, sessionId: string): void {
    this.storage.setItem(`${PREFIX}.session.${chatId}`, sessionId);
    this.storage.setItem(`${PREFIX}.chat.${sessionId}`, chatId);
  }

  running(chatId: string): RunningTurn | null {
    const text = this.storage.getItem(`${PREFIX}.running.${chatId}`);
    if (text === null) return null;
    try {
      const parsed = RunningTurnSchema.safeParse(JSON.parse(text));
      return parsed.success ? parsed.data : null; // a record another version wrote, or edited by hand: nothing to resume
    } catch {
      return null;
    }
  }

  setRunning(chatId: string, turn: RunningTurn | null): void {
    if (turn) this.storage.setItem(`${PREFIX}.running.${chatId}`, JSON.stringify(turn));
    else this.storage.removeItem(`${PREFIX}.running.${chatId}`);
  }
}

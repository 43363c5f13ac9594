// Owns what the example reads from its URL and keeps in localStorage: the backend it talks to, who is signed in,
// the open chat and the model picked.

/** The backend: `?backend=http://127.0.0.1:8787` (default: `npm run dev`'s address). */
export const backendUrl = (new URLSearchParams(location.search).get("backend") ?? "http://127.0.0.1:8787").replace(/\/$/, "");
export const wsUrl = `${backendUrl.replace(/^http/, "ws")}/ws`;

/** Local mode (AUTH_MODE=none) signs in with a user id, token mode with a JWT or API key. */
export type Identity = { userId: string } | { token: string };

const IDENTITY = "ai-sdk-example.identity";
const CHAT = "ai-sdk-example.chat";
const MODEL = "ai-sdk-example.model";

function readIdentity(): Identity | null {
  try {
    const value = JSON.parse(localStorage.getItem(IDENTITY) ?? "null") as Partial<{ userId: unknown; token: unknown }> | null;
    if (typeof value?.userId === "string") return { userId: value.userId };
    if (typeof value?.token === "string") return { token: value.token };
  } catch {
    // not JSON: signed out
  }
  return null;
}

export const saved = {
  identity: readIdentity,
  setIdentity: (identity: Identity | null) => (identity ? localStorage.setItem(IDENTITY, JSON.stringify(identity)) : localStorage.removeItem(IDENTITY)),
  chat: () => localStorage.getItem(CHAT),
  setChat: (chatId: string) => localStorage.setItem(CHAT, chatId),
  model: () => localStorage.getItem(MODEL),
  setModel: (model: string) => localStorage.setItem(MODEL, model),
};

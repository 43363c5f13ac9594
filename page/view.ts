// Owns the chat page's DOM: element lookups, and rendering messages, file entries and the sessions list.
import type { HistoryEntry, SessionInfo } from "chat-backend/client";

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

export const el = {
  status: element<HTMLSpanElement>("status"),
  model: element<HTMLSelectElement>("model"),
  balance: element<HTMLOutputElement>("balance"),
  signOut: element<HTMLButtonElement>("sign-out"),
  signIn: element<HTMLElement>("sign-in"),
  signInForm: element<HTMLFormElement>("sign-in-form"),
  userId: element<HTMLInputElement>("user-id"),
  token: element<HTMLInputElement>("token"),
  createUserForm: element<HTMLFormElement>("create-user-form"),
  adminToken: element<HTMLInputElement>("admin-token"),
  username: element<HTMLInputElement>("username"),
  startBalance: element<HTMLInputElement>("start-balance"),
  signInError: element<HTMLParagraphElement>("sign-in-error"),
  chat: element<HTMLElement>("chat"),
  newSession: element<HTMLButtonElement>("new-session"),
  sessions: element<HTMLUListElement>("sessions"),
  messages: element<HTMLOListElement>("messages"),
  chatError: element<HTMLParagraphElement>("chat-error"),
  composer: element<HTMLFormElement>("composer"),
  file: element<HTMLInputElement>("file"),
  message: element<HTMLTextAreaElement>("message"),
  send: element<HTMLButtonElement>("send"),
  stop: element<HTMLButtonElement>("stop"),
};

const IMAGE = /\.(png|jpe?g|gif|webp|svg)$/i;

/** Appends one history entry; an assistant bubble is returned so a streamed reply can grow in it. */
export function addMessage(entry: HistoryEntry): HTMLLIElement {
  const item = document.createElement("li");
  item.className = `msg ${entry.role}`;
  if (entry.role === "file") {
    const link = document.createElement("a");
    link.href = `/uploads/${encodeURIComponent(entry.content)}`;
    link.target = "_blank";
    link.rel = "noopener";
    if (IMAGE.test(entry.content)) {
      const image = document.createElement("img");
      image.src = link.href;
      image.alt = entry.content;
      link.append(image);
    } else link.textContent = `📎 ${entry.content}`;
    item.append(link);
  } else item.textContent = entry.content;
  if (entry.role === "assistant") item.dataset.state = "done"; // a streamed reply says "streaming" until it ends
  el.messages.append(item);
  el.messages.scrollTop = el.messages.scrollHeight;
  return item;
}

export function showHistory(entries: HistoryEntry[]): void {
  el.messages.replaceChildren();
  for (const entry of entries) addMessage(entry);
}

export function showSessions(sessions: SessionInfo[], current: string | null, open: (sessionId: string) => void): void {
  el.sessions.replaceChildren(
    ...sessions.map((session) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = session.session_name || "Untitled";
      button.title = session.session_name;
      button.dataset.sessionId = session.session_id;
      if (session.session_id === current) button.setAttribute("aria-current", "true");
      button.addEventListener("click", () => open(session.session_id));
      item.append(button);
      return item;
    }),
  );
}

export function showModels(models: string[], preferred: string | null): void {
  el.model.replaceChildren(...models.map((name) => new Option(name, name, false, name === preferred)));
}

export function showError(target: HTMLElement, error: unknown): void {
  target.textContent = error instanceof Error ? error.message : String(error);
}

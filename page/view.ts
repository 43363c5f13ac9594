// Owns the chat page's DOM: element lookups, and rendering messages, file entries and the sessions list.
import type { HistoryEntry, SessionInfo } from "chat-backend/client";
import type { AuthMode } from "./http";

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

export const el = {
  status: element<HTMLSpanElement>("status"),
  account: element<HTMLSpanElement>("account"),
  model: element<HTMLSelectElement>("model"),
  balance: element<HTMLOutputElement>("balance"),
  signOut: element<HTMLButtonElement>("sign-out"),
  signIn: element<HTMLElement>("sign-in"),
  notice: element<HTMLParagraphElement>("notice"),
  noticeText: element<HTMLSpanElement>("notice-text"),
  noticeClose: element<HTMLButtonElement>("notice-close"),
  signInForm: element<HTMLFormElement>("sign-in-form"),
  signInMode: element<HTMLParagraphElement>("sign-in-mode"),
  userIdField: element<HTMLLabelElement>("user-id-field"),
  userId: element<HTMLInputElement>("user-id"),
  tokenField: element<HTMLLabelElement>("token-field"),
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
  promptBox: element<HTMLDetailsElement>("prompt-box"),
  prompt: element<HTMLTextAreaElement>("prompt"),
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
    } else link.textContent = `File: ${entry.content}`;
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

export interface SessionActions {
  open(sessionId: string): void;
  remove(session: SessionInfo): void;
}

/** The sidebar: one row per session, a button that opens it and one that deletes it. */
export function showSessions(sessions: SessionInfo[], current: string | null, actions: SessionActions): void {
  el.sessions.replaceChildren(
    ...sessions.map((session) => {
      const name = session.session_name || "Untitled";
      const item = document.createElement("li");
      const open = document.createElement("button");
      open.type = "button";
      open.className = "open";
      open.textContent = name;
      open.title = name;
      open.dataset.sessionId = session.session_id;
      if (session.session_id === current) open.setAttribute("aria-current", "true");
      open.addEventListener("click", () => actions.open(session.session_id));
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "delete";
      remove.textContent = "×";
      remove.title = "Delete this chat";
      remove.setAttribute("aria-label", `Delete ${name}`);
      remove.addEventListener("click", () => actions.remove(session));
      item.append(open, remove);
      return item;
    }),
  );
}

/** How this backend signs users in (GET /healthz `auth`): only the field that works is shown. */
export function showSignInMode(mode: AuthMode | null): void {
  el.userIdField.hidden = mode === "token";
  el.tokenField.hidden = mode === "none";
  el.signInMode.textContent =
    mode === "none"
      ? "Local mode (AUTH_MODE=none): enter a user id, it is trusted as it is."
      : mode === "token"
        ? "Sign in with a JWT or an API key (AUTH_MODE=token)."
        : "Enter a user id (AUTH_MODE=none) or a token (AUTH_MODE=token).";
}

export function showNotice(text: string | null): void {
  el.notice.hidden = text === null;
  el.noticeText.textContent = text ?? "";
}

export function showModels(models: string[], preferred: string | null): void {
  el.model.replaceChildren(...models.map((name) => new Option(name, name, false, name === preferred)));
}

export function showError(target: HTMLElement, error: unknown): void {
  target.textContent = error instanceof Error ? error.message : String(error);
}

// Owns the chat page's DOM: element lookups, and rendering messages, file entries (by their original names, through
// the links the backend signs), the sessions list and notices.
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
  noticeCopy: element<HTMLButtonElement>("notice-copy"),
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

/** Stored names keep the original's extension, lower-cased (docs/protocol.md 2.2). */
const IMAGE = /\.(png|jpe?g|gif|webp|avif|bmp)$/;

/** Appends one history entry; an assistant bubble is returned so a streamed reply can grow in it. A file entry shows
 *  its original name (`name`) and links to `url`, which with AUTH_MODE=token is a signed link: an <img> or a download
 *  sends no credential. */
export function addMessage(entry: HistoryEntry): HTMLLIElement {
  const item = document.createElement("li");
  item.className = `msg ${entry.role}`;
  if (entry.role === "file") {
    const name = entry.name ?? entry.content;
    const link = document.createElement("a");
    link.href = entry.url ?? `/uploads/${encodeURIComponent(entry.content)}`;
    link.title = name;
    if (IMAGE.test(entry.content)) {
      link.target = "_blank";
      link.rel = "noopener";
      const image = document.createElement("img");
      image.src = link.href;
      image.alt = name;
      link.append(image);
    } else {
      link.download = name; // saved under the name it was uploaded with
      link.textContent = name;
    }
    item.append(link);
  } else item.textContent = entry.content;
  if (entry.role === "assistant") item.dataset.state = "done"; // a streamed reply says "streaming" until it ends
  el.messages.append(item);
  el.messages.scrollTop = el.messages.scrollHeight;
  return item;
}

export function showHistory(entries: HistoryEntry[]): void {
  el.messages.replaceChildren();
  for (const entry of inTurnOrder(entries)) if (!isEmptyMessage(entry)) addMessage(entry);
}

/** A file sent alone has an empty message: the page shows the file, not an empty bubble. */
export const isEmptyMessage = (entry: HistoryEntry): boolean => entry.role === "user" && entry.content.trim() === "";

/**
 * A history as the page shows it: a turn's file is stored after the reply (user, assistant, file; docs/protocol.md
 * 1.4), but the page shows it right after the message it was sent with, where it appears while the turn runs.
 */
export function inTurnOrder(entries: readonly HistoryEntry[]): HistoryEntry[] {
  const shown = [...entries];
  for (let i = 2; i < shown.length; i++) {
    const [user, reply, file] = [shown[i - 2]!, shown[i - 1]!, shown[i]!];
    if (file.role === "file" && reply.role === "assistant" && user.role === "user") [shown[i - 1], shown[i]] = [file, reply];
  }
  return shown;
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

/** A notice above the page; `copy` adds a Copy button that puts that text on the clipboard. */
export function showNotice(text: string | null, copy?: string): void {
  el.notice.hidden = text === null;
  el.noticeText.textContent = text ?? "";
  el.noticeCopy.hidden = copy === undefined;
  el.noticeCopy.textContent = "Copy";
  el.noticeCopy.dataset.copy = copy ?? "";
}

export function showModels(models: string[], preferred: string | null): void {
  el.model.replaceChildren(...models.map((name) => new Option(name, name, false, name === preferred)));
}

export function showError(target: HTMLElement, error: unknown): void {
  target.textContent = error instanceof Error ? error.message : String(error);
}

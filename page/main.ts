// Owns the chat page's behaviour (bundled to public/app.js): signing in, the sessions sidebar (open, delete), history,
// streamed sends with Stop, the system prompt, uploads, the model picker, the balance, and resuming a turn after a reload.
import { ChatClient, type ConnectionState, type HistoryEntry, type SessionInfo, type TurnStream } from "chat-backend/client";
import { authMode, createUser, credentialRefusal, issueKey, upload, type AuthMode } from "./http";
import { remembered, type Identity } from "./storage";
import { addMessage, el, isEmptyMessage, showError, showHistory, showModels, showNotice, showSessions, showSignInMode } from "./view";

const MODEL_KEY = "chat-backend.model";

let client: ChatClient | null = null;
let identity: Identity | null = null;
let current: string | null = null;
let running: TurnStream<unknown> | null = null;
let mode: AuthMode | null = null;

const showChatError = (error: unknown) => showError(el.chatError, error);
const wsUrl = () => `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;

async function signIn(who: Identity): Promise<void> {
  el.signInError.textContent = "";
  client?.close();
  try {
    const next = await ChatClient.connect({ url: wsUrl(), ...who });
    client = next;
    next.on("connection", (state: ConnectionState) => (el.status.textContent = state));
    const user = await next.userDetails(); // an unknown user fails here (code 3)
    identity = who;
    remembered.setIdentity(who);
    // The chat shows once its models are in: a message sent before would start a session with no model.
    showModels(await next.models(), localStorage.getItem(MODEL_KEY));
    await Promise.all([refreshBalance(), refreshSessions()]);
    el.status.textContent = `${user.username} · open`;
    el.signIn.hidden = true;
    el.chat.hidden = false;
    el.signOut.hidden = false;
    el.account.hidden = false;
    const pending = remembered.pending();
    const session = pending?.sessionId ?? remembered.session();
    // A remembered session may be gone since (deleted in another tab): then start a new chat, signed in all the same.
    if (session) await openSession(session).catch(() => openSession(null));
    if (pending) void resumeTurn(pending);
  } catch (error) {
    client?.close();
    client = null;
    showSignIn();
    const refusal = who.token ? await credentialRefusal(who.token).catch(() => null) : null;
    showError(el.signInError, refusal ? `Sign-in refused: ${refusal}` : error);
  }
}

function showSignIn(): void {
  el.signIn.hidden = false;
  el.chat.hidden = true;
  el.signOut.hidden = true;
  el.account.hidden = true;
  el.status.textContent = "signed out";
  el.balance.textContent = "–";
  el.model.replaceChildren();
}

async function refreshBalance(): Promise<void> {
  if (client) el.balance.textContent = `$${(await client.balance()).toFixed(4)}`;
}

async function refreshSessions(): Promise<void> {
  if (client) showSessions(await client.sessions(), current, { open: (id) => void openSession(id).catch(showChatError), remove: (session) => void deleteSession(session).catch(showChatError) });
}

async function deleteSession(session: SessionInfo): Promise<void> {
  if (!client || !confirm(`Delete "${session.session_name || "Untitled"}" and its history?`)) return;
  await client.deleteSession(session.session_id);
  if (current === session.session_id) await openSession(null);
  await refreshSessions();
}

async function openSession(sessionId: string | null): Promise<void> {
  if (running) return; // one turn at a time: its bubble lives in the conversation shown
  current = sessionId;
  remembered.setSession(sessionId);
  el.chatError.textContent = "";
  showHistory(sessionId && client ? await client.history(sessionId) : []);
  el.sessions.querySelectorAll<HTMLButtonElement>("button.open").forEach((button) => {
    button.setAttribute("aria-current", String(button.dataset.sessionId === sessionId));
  });
}

async function send(): Promise<void> {
  const message = el.message.value.trim();
  const prompt = el.prompt.value.trim();
  const file = el.file.files?.[0];
  if (!client || !identity || running || (!message && !file)) return;
  if (!el.model.value) return showChatError("This user may use no model: an admin grants models (npm run admin -- users grant)");
  el.chatError.textContent = "";
  el.send.disabled = true;
  const model = el.model.value;
  try {
    let fileEntry: HistoryEntry | undefined;
    if (file) {
      const uploaded = await upload(identity, file, current ?? "NEW", model, prompt);
      // The upload answer's link: signed with AUTH_MODE=token, so the <img> and the download work without a credential.
      fileEntry = { role: "file", content: uploaded.fileName, name: file.name, url: uploaded.imageUrl };
      current = uploaded.sessionId;
      remembered.setSession(current);
      el.file.value = "";
    }
    el.message.value = "";
    el.prompt.value = ""; // sent once: the session keeps it
    el.promptBox.open = false;
    if (message) addMessage({ role: "user", content: message });
    if (fileEntry) addMessage(fileEntry); // where the history shows it too (view.ts inTurnOrder)
    const stream = client.stream({ sessionId: current ?? "NEW", message, model, ...(prompt ? { prompt } : {}), ...(fileEntry ? { file: fileEntry.content } : {}) });
    await follow(stream, message, "", -1, fileEntry);
  } catch (error) {
    showChatError(error);
    el.send.disabled = false;
  }
}

/** Shows a turn's reply as it streams, remembering how far it got so a reload can resume it. */
async function follow(stream: TurnStream<{ message: string; cancelled?: true }>, userMessage: string, before: string, lastSeq = -1, file?: HistoryEntry): Promise<void> {
  const bubble = addMessage({ role: "assistant", content: before });
  bubble.dataset.state = "streaming";
  running = stream;
  el.send.disabled = true;
  el.stop.disabled = false;
  let text = before;
  try {
    for await (const delta of stream) {
      text += delta.text;
      lastSeq = delta.seq;
      bubble.textContent = text;
      el.messages.scrollTop = el.messages.scrollHeight;
      if (stream.sessionId !== undefined && stream.turn !== undefined) {
        if (current === null) current = stream.sessionId;
        remembered.setSession(current);
        remembered.setPending({ sessionId: stream.sessionId, turn: stream.turn, lastSeq, text, userMessage, ...(file ? { file } : {}) });
      }
    }
    const reply = await stream.done;
    bubble.textContent = reply.message;
    bubble.dataset.state = reply.cancelled ? "cancelled" : "done";
  } catch (error) {
    bubble.dataset.state = "error";
    showChatError(error);
  } finally {
    running = null;
    remembered.setPending(null);
    el.send.disabled = false;
    el.stop.disabled = true;
  }
  await Promise.all([refreshBalance(), refreshSessions()]).catch(showChatError);
}

/** After a reload: the turn's user message and the reply so far, then the rest of it (client.resume). */
async function resumeTurn(pending: NonNullable<ReturnType<typeof remembered.pending>>): Promise<void> {
  if (!client) return;
  const userEntry: HistoryEntry = { role: "user", content: pending.userMessage };
  if (!isEmptyMessage(userEntry)) addMessage(userEntry);
  if (pending.file) addMessage(pending.file);
  await follow(client.resume(pending.sessionId, pending.turn, pending.lastSeq), pending.userMessage, pending.text, pending.lastSeq, pending.file);
  // The history now holds the committed turn (and any file sent with it): show it as stored. The ending event can
  // come before the turn's charge is committed, and a chat the turn started may be missing from the list read
  // before (a resume writes nothing this socket waits for); the history waits for the session's writes, so the
  // list and the balance read after it have the turn, and the open chat is highlighted.
  await openSession(pending.sessionId)
    .then(() => Promise.all([refreshSessions(), refreshBalance()]))
    .catch(showChatError);
}

el.signInForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const token = mode === "none" ? "" : el.token.value.trim();
  const userId = mode === "token" ? "" : el.userId.value.trim();
  if (!token && !userId) return showError(el.signInError, mode === "token" ? "Enter a token" : mode === "none" ? "Enter a user id" : "Enter a user id, or a token");
  void signIn(token ? { token } : { userId });
});

/** Creates a user with the admin token and signs in as them: by user id in local mode, else with a new API key. */
async function createAndSignIn(): Promise<void> {
  const adminToken = el.adminToken.value.trim();
  const userId = await createUser(adminToken, el.username.value.trim(), Number(el.startBalance.value));
  el.userId.value = userId;
  if (mode !== "token") {
    el.token.value = "";
    // Signing in again after a sign-out takes this id: keep it.
    showNotice(`Your user id (keep it: you sign in with it after signing out): ${userId}`, userId);
    return signIn({ userId });
  }
  const key = await issueKey(adminToken, userId);
  el.token.value = key;
  showNotice(`Your API key, shown this once (the page remembers it until you sign out): ${key}`, key);
  return signIn({ token: key });
}

el.createUserForm.addEventListener("submit", (event) => {
  event.preventDefault();
  createAndSignIn().catch((error: unknown) => showError(el.signInError, error));
});
el.noticeClose.addEventListener("click", () => showNotice(null));
el.noticeCopy.addEventListener("click", () => {
  // `navigator.clipboard` exists only on localhost or HTTPS.
  (navigator.clipboard?.writeText(el.noticeCopy.dataset.copy ?? "") ?? Promise.reject(new Error("no clipboard"))).then(
    () => (el.noticeCopy.textContent = "Copied"),
    // No clipboard, or the browser refused: select the text, for Ctrl+C.
    () => getSelection()?.selectAllChildren(el.noticeText),
  );
});

el.signOut.addEventListener("click", () => {
  client?.close();
  client = null;
  identity = null;
  current = null;
  remembered.setIdentity(null);
  remembered.setSession(null);
  remembered.setPending(null);
  el.messages.replaceChildren();
  el.token.value = "";
  showNotice(null);
  showSignIn();
});

el.newSession.addEventListener("click", () => void openSession(null));
el.model.addEventListener("change", () => localStorage.setItem(MODEL_KEY, el.model.value));
el.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  void send();
});
el.message.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    el.composer.requestSubmit();
  }
});
el.stop.addEventListener("click", () => {
  el.stop.disabled = true;
  running?.cancel().catch(showChatError);
});

async function start(): Promise<void> {
  mode = await authMode();
  showSignInMode(mode);
  const saved = remembered.identity();
  if (saved) {
    el.userId.value = saved.userId ?? "";
    await signIn(saved);
  } else showSignIn();
}

void start();

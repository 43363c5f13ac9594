// Owns the example's frame: signing in, the transport (one per user), the chat list, the model picker and the
// balance. The conversation itself is Conversation.tsx, on useChat.
import { useCallback, useEffect, useMemo, useState } from "react";
import { newRequestId } from "chat-backend/client";
import { ChatBackendTransport, type ChatBackendUIMessage, type ChatSummary } from "chat-backend/client/ai-sdk";
import { Conversation } from "./Conversation";
import { saved, wsUrl, type Identity } from "./settings";

export function App() {
  const [identity, setIdentity] = useState<Identity | null>(saved.identity);
  const signIn = (who: Identity | null) => {
    saved.setIdentity(who);
    setIdentity(who);
  };
  return identity ? <Chats identity={identity} signOut={() => signIn(null)} /> : <SignIn onSignIn={signIn} />;
}

function SignIn({ onSignIn }: { onSignIn: (who: Identity) => void }) {
  const [value, setValue] = useState("");
  return (
    <form
      className="sign-in"
      onSubmit={(event) => {
        event.preventDefault();
        const text = value.trim();
        // A user id is a UUID; anything else is a credential (JWT or API key) for AUTH_MODE=token.
        if (text) onSignIn(/^[0-9a-f-]{36}$/i.test(text) ? { userId: text } : { token: text });
      }}
    >
      <h1>Chat-Backend × AI SDK</h1>
      <label>
        User id or token
        <input value={value} onChange={(event) => setValue(event.target.value)} placeholder="3b0c… (npm run user:create)" />
      </label>
      <button type="submit">Sign in</button>
    </form>
  );
}

function Chats({ identity, signOut }: { identity: Identity; signOut: () => void }) {
  const transport = useMemo(
    () =>
      new ChatBackendTransport({
        url: wsUrl,
        ...("userId" in identity ? { userId: identity.userId } : { token: () => identity.token }),
        storage: localStorage, // chat ids, their sessions and a streaming turn survive a reload
      }),
    [identity],
  );
  useEffect(() => () => transport.close(), [transport]);

  const [chatId, setChatId] = useState(() => saved.chat() ?? newRequestId());
  const [chats, setChats] = useState<ChatSummary[]>([]);
  const [models, setModels] = useState<string[]>([]);
  const [model, setModel] = useState(saved.model() ?? "");
  const [balance, setBalance] = useState<number | null>(null);
  const [initial, setInitial] = useState<{ chatId: string; messages: ChatBackendUIMessage[] } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const refresh = useCallback(async () => {
    const client = await transport.connection();
    const [list, dollars] = await Promise.all([transport.chats(), client.balance()]);
    setChats(list);
    setBalance(dollars);
  }, [transport]);

  useEffect(() => {
    (async () => {
      const names = await (await transport.connection()).models();
      setModels(names);
      setModel((picked) => (names.includes(picked) ? picked : (names[0] ?? "")));
      await refresh();
    })().catch((error: unknown) => setProblem(String((error as Error).message ?? error)));
  }, [transport, refresh]);

  useEffect(() => {
    saved.setChat(chatId);
    setInitial(null);
    transport
      .loadMessages(chatId)
      .then((messages) => setInitial({ chatId, messages }))
      .catch((error: unknown) => {
        setProblem(`Could not open this chat: ${(error as Error).message}`);
        setInitial({ chatId, messages: [] });
      });
  }, [transport, chatId]);

  const pickModel = (name: string) => {
    saved.setModel(name);
    setModel(name);
  };

  return (
    <div className="layout">
      <aside>
        <button type="button" className="new-chat" disabled={busy} onClick={() => setChatId(newRequestId())}>
          + New chat
        </button>
        <nav aria-label="Chats">
          {chats.map((chat) => (
            <button type="button" key={chat.chatId} className="chat" aria-current={chat.chatId === chatId} disabled={busy} onClick={() => setChatId(chat.chatId)}>
              {chat.name || "New Chat"}
            </button>
          ))}
        </nav>
        <footer>
          <span id="balance">{balance === null ? "–" : `$${balance.toFixed(4)}`}</span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </footer>
      </aside>
      <main>
        <header>
          <label>
            Model{" "}
            <select value={model} onChange={(event) => pickModel(event.target.value)}>
              {models.map((name) => (
                <option key={name}>{name}</option>
              ))}
            </select>
          </label>
          {problem && <span className="problem">{problem}</span>}
        </header>
        {initial && initial.chatId === chatId ? (
          <Conversation key={chatId} chatId={chatId} initial={initial.messages} transport={transport} model={model} onBusy={setBusy} onTurnEnd={() => void refresh().catch(() => {})} />
        ) : (
          <p className="loading">Loading…</p>
        )}
      </main>
    </div>
  );
}

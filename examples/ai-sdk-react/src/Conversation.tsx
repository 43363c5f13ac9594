// Owns one chat on useChat with ChatBackendTransport: its messages as they stream, the composer (message, system
// prompt, one file), Stop, the error of a refused or failed turn, and resuming a reply after a reload (resume: true).
import { useChat } from "@ai-sdk/react";
import { useEffect, useRef, useState, type FormEvent } from "react";
import type { ChatBackendTransport, ChatBackendUIMessage } from "chat-backend/client/ai-sdk";

interface Props {
  chatId: string;
  initial: ChatBackendUIMessage[];
  transport: ChatBackendTransport;
  model: string;
  onBusy: (busy: boolean) => void;
  onTurnEnd: () => void;
}

export function Conversation({ chatId, initial, transport, model, onBusy, onTurnEnd }: Props) {
  const { messages, setMessages, sendMessage, status, stop, error, clearError } = useChat<ChatBackendUIMessage>({
    id: chatId,
    messages: initial,
    transport,
    resume: true, // a reply that was streaming when the page reloaded goes on (reconnectToStream)
    onFinish: ({ message, isAbort }) => {
      // After stop() useChat takes no more chunks, so the transport's `cancelled` metadata never lands: mark the
      // partial reply here (the backend cancels the turn and stores it as it is).
      if (isAbort) setMessages((all) => all.map((m) => (m.id === message.id && m.metadata ? { ...m, metadata: { ...m.metadata, cancelled: true } } : m)));
      onTurnEnd();
    },
  });
  const [text, setText] = useState("");
  const [prompt, setPrompt] = useState("");
  const files = useRef<HTMLInputElement>(null);
  const bottom = useRef<HTMLDivElement>(null);
  const running = status === "submitted" || status === "streaming";

  useEffect(() => {
    onBusy(running);
  }, [running, onBusy]);
  useEffect(() => {
    void bottom.current?.scrollIntoView({ block: "end" }); // newer Chromium returns a promise: not an effect's cleanup
  }, [messages]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const message = text.trim();
    if (!message || running) return;
    clearError();
    const attached = files.current?.files;
    void sendMessage(
      { text: message, ...(attached && attached.length > 0 ? { files: attached } : {}) },
      { body: { model, ...(prompt.trim() ? { prompt: prompt.trim() } : {}) } },
    );
    setText("");
    setPrompt("");
    if (files.current) files.current.value = "";
  };

  return (
    <section className="conversation">
      <ol id="messages" aria-live="polite">
        {messages.map((message, index) => (
          <Message key={message.id} message={message} streaming={running && index === messages.length - 1 && message.role === "assistant"} />
        ))}
        <div ref={bottom} />
      </ol>
      {error && (
        <p id="chat-error" role="alert">
          {error.message}
        </p>
      )}
      <form className="composer" onSubmit={submit}>
        <textarea
          aria-label="Message"
          value={text}
          rows={2}
          placeholder="Message"
          onChange={(event) => setText(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) submit(event);
          }}
        />
        <input aria-label="System prompt" value={prompt} placeholder="System prompt (optional, kept by the chat)" onChange={(event) => setPrompt(event.target.value)} />
        <div className="actions">
          <input ref={files} type="file" aria-label="Attach a file" />
          <button type="submit" disabled={running || !model}>
            Send
          </button>
          <button type="button" disabled={!running} onClick={() => void stop()}>
            Stop
          </button>
        </div>
      </form>
    </section>
  );
}

function Message({ message, streaming }: { message: ChatBackendUIMessage; streaming: boolean }) {
  const meta = message.metadata;
  const state = streaming ? "streaming" : meta?.cancelled ? "cancelled" : "done";
  return (
    <li className={`msg ${message.role}`} data-state={message.role === "assistant" ? state : undefined}>
      {message.parts.map((part, index) => {
        if (part.type === "text") return <p key={index}>{part.text}</p>;
        if (part.type === "file") {
          return (
            <a key={index} className="file" href={part.url} target="_blank" rel="noreferrer">
              File: {part.filename ?? "file"}
            </a>
          );
        }
        return null; // tool calls, reasoning and data parts: Chat-Backend sends none
      })}
      {message.role === "assistant" && meta?.turn !== undefined && (
        <small className="meta">
          turn {meta.turn}
          {meta.charge !== undefined && ` · $${meta.charge.toFixed(6)}`}
          {meta.cancelled && " · stopped"}
        </small>
      )}
    </li>
  );
}

// Owns the client library's public surface, `chat-backend/client`, for browsers, workerd and Node.
// It imports nothing of Node (the `ws` helper is `chat-backend/client/node`) and of the backend only its wire
// contract, protocol/ (plain types and constants).
export { ChatClient, type ChatInput, type ClientOptions, type ConnectionState, type TokenSource } from "./client";
export { TurnStream, type Delta, type ResumedTurn } from "./stream";
export { ChatBackendError, ChatClientError, type ClientFailure, type ConnectionCause, type ConnectionFailure } from "./errors";
export { backoffDelay, DEFAULT_RECONNECT, type ReconnectOptions } from "./backoff";
export { FrameSocket, globalSocketFactory, newRequestId, openFrameSocket, parseFrame, type CloseInfo, type FrameListener, type SocketFactory, type WebSocketLike } from "./transport";
export * from "../protocol";

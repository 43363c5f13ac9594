// Owns the one wire contract of the WebSocket protocol (docs/protocol.md sections 1, 4 and 9), imported by the Worker
// (src/), the client library (client/), the chat page (page/) and the tests: plain types and constants, nothing
// that needs Node, a browser or workerd, so every one of them can load it.
export * from "./messages";
export * from "./error-codes";
export * from "./turn-events";
export * from "./close-codes";

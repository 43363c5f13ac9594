// Owns the WebSocket close codes the backend sends (docs/protocol.md 1.7).
export const CloseCode = {
  /** The socket's credential was revoked or expired (reason `Revoked credential` / `Expired credential`): sign in
   *  again with a fresh one. */
  CredentialEnded: 4401,
  /** The user holds MAX_SOCKETS_PER_USER sockets open already (reason `Too many sockets: at most <n> per user`,
   *  docs/protocol.md 1.3): close another first. */
  TooManySockets: 4429,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

// Owns the layout of a user's account object's own storage: every key prefix it uses, with the module that owns
// it (docs/storage.md lists the same).

/** Every key prefix a user's account object writes, with its one owner. */
export const ACCOUNT_STORAGE = {
  /** spendable.ts: the credit lease lent to a session object, by session id (what it was lent, what came back). */
  lease: "lease:",
} as const;

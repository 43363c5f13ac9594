// Owns the layout of a user's account object's own storage: every key prefix it uses, with the module that owns
// it (docs/storage.md lists the same).

/** Every key prefix a user's account object writes, with its one owner. */
export const ACCOUNT_STORAGE = {
  /** spendable.ts: a turn's hold on the user's money, by reservation id. */
  reservation: "reservation:",
} as const;

// Owns folding one session's journaled writes (turns and summaries, in order) into what a single database batch
// applies: the session's final state, its new history rows, and a ledger row per charge (taken in one debit,
// balance-change.ts). A batch then costs a handful of statements however many writes it carries.
import { chunked } from "../chunked";
import type { SessionRecord, SessionWrite } from "./chat-store";
import type { costLedger, messages } from "./schema";

type MessageRow = typeof messages.$inferInsert;
type LedgerRow = typeof costLedger.$inferInsert;

export interface FoldedWrites {
  userId: string;
  sessionId: string;
  /** The session to create (with every later change of this batch applied), when a turn of the batch created it. */
  newSession: SessionRecord | null;
  /** Changes to an existing session; empty when nothing changes it. */
  sessionChanges: Partial<Pick<SessionRecord, "modelId" | "name" | "prompt" | "lastActiveAt" | "summary" | "streamed">>;
  messages: MessageRow[];
  /** One row per write, in order, its delta the write's charge (negative). */
  ledger: LedgerRow[];
}

/** Folds writes of one session, in journal order. */
export function foldWrites(writes: readonly SessionWrite[]): FoldedWrites {
  const first = writes[0];
  if (!first) throw new Error("a write batch needs at least one write");
  const [userId, sessionId] = first.kind === "turn" ? [first.turn.session.userId, first.turn.session.id] : [first.summary.userId, first.summary.sessionId];
  let newSession: SessionRecord | null = null;
  const sessionChanges: FoldedWrites["sessionChanges"] = {};
  const messages: MessageRow[] = [];
  const ledger: LedgerRow[] = [];
  for (const write of writes) {
    if (write.kind === "turn") {
      const { session, isNew, entries, firstSeq, chargeMicros, at } = write.turn;
      if (isNew) newSession = { ...session };
      const changes = { modelId: session.modelId, name: session.name, prompt: session.prompt, lastActiveAt: session.lastActiveAt, streamed: session.streamed };
      if (newSession) Object.assign(newSession, changes);
      else Object.assign(sessionChanges, changes);
      entries.forEach((entry, i) => messages.push({ sessionId, seq: firstSeq + i, role: entry.role, content: entry.content, createdAt: at }));
      ledger.push({ userId, sessionId, kind: "turn", deltaMicros: -chargeMicros, createdAt: at });
    } else {
      const { summary, chargeMicros, at } = write.summary;
      if (newSession) newSession.summary = summary;
      else sessionChanges.summary = summary;
      ledger.push({ userId, sessionId, kind: "summary", deltaMicros: -chargeMicros, createdAt: at });
    }
  }
  return { userId, sessionId, newSession, sessionChanges, messages, ledger };
}

/** The balance right after each write, given the deltas its ledger rows were written with and the balance after the
 *  whole batch (the batch applies atomically). */
export function balancesAfterEachWrite(deltasMicros: readonly number[], finalBalanceMicros: number): number[] {
  const balances: number[] = new Array<number>(deltasMicros.length);
  let balance = finalBalanceMicros;
  for (let i = deltasMicros.length - 1; i >= 0; i--) {
    balances[i] = balance;
    balance -= deltasMicros[i]!;
  }
  return balances;
}

/** Splits rows (all with the same columns) so no multi-row insert binds more than `maxParameters` values. */
export function chunkRows<T extends object>(rows: readonly T[], maxParameters: number): T[][] {
  const columns = Object.keys(rows[0] ?? {}).length;
  return chunked(rows, Math.max(1, Math.floor(maxParameters / Math.max(1, columns))));
}

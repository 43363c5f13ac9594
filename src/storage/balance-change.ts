// Owns every write of a user's balance, for both engines: a change is its ledger rows and the balance moved by exactly
// their sum, each computed by the database from the balance it holds at that moment, in the caller's atomic write.
// Charges never take a balance below zero; an addition that would take it out of 0 to MAX_BALANCE fails the whole write.
import { eq, sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { MAX_BALANCE_MICROS } from "../domain/money";
import { chunked } from "../chunked";
import type { LedgerKind } from "./chat-store";
import type { SqlEngine, StoreDb, StoreTables } from "./engines";

/** What a ledger row says besides its delta. */
export interface LedgerLine {
  sessionId: string | null;
  kind: LedgerKind;
  createdAt: number;
}

/** A change of one user's balance: ledger rows whose deltas, and their sum, are SQL of the balance before it. */
export interface BalanceChange {
  rows: (LedgerLine & { delta: (balance: SQL) => SQL })[];
  total: (balance: SQL) => SQL;
}

/** An addition (negative takes away) refused because it would take the balance out of 0 to MAX_BALANCE: nothing of
 *  the write it was part of was applied. */
export class BalanceOutOfBounds extends Error {
  constructor(
    readonly balanceMicros: number,
    readonly addMicros: number,
  ) {
    super(`the balance ${balanceMicros} plus ${addMicros} micro-dollars would be out of 0 to ${MAX_BALANCE_MICROS}`);
  }
}

/**
 * Charges taken in order, each at most what the balance still holds: a charge that lands after an admin lowered the
 * balance below it (its turn already answered) takes what is left, and its row says what was taken, so the ledger
 * stays equal to the balance and the balance never goes below zero.
 */
export function debit(charges: readonly (LedgerLine & { chargeMicros: number })[]): BalanceChange {
  let before = 0;
  const rows = charges.map(({ chargeMicros, ...line }) => {
    const takenBefore = before;
    before += chargeMicros;
    return { ...line, delta: (balance: SQL) => sql`-(${taken(sql`${balance} - ${literal(takenBefore)}`, chargeMicros)})` };
  });
  const total = before;
  return { rows, total: (balance) => sql`-(${taken(balance, total)})` };
}

/** Whether an admin's addition may leave this balance: 0 to MAX_BALANCE. */
export function balanceInBounds(balanceMicros: number): boolean {
  return balanceMicros >= 0 && balanceMicros <= MAX_BALANCE_MICROS;
}

/** An admin's addition (negative takes away), applied only if the balance stays within 0 to MAX_BALANCE. */
export function addition(micros: number, createdAt: number): BalanceChange {
  // Out of bounds the delta is NULL, which the NOT NULL ledger column refuses: the whole atomic write fails.
  const delta = (balance: SQL) => sql`case when ${balance} + ${literal(micros)} between 0 and ${literal(MAX_BALANCE_MICROS)} then ${literal(micros)} end`;
  return { rows: [{ sessionId: null, kind: "credit", createdAt, delta }], total: delta };
}

/** An admin's balance set by hand: the row records the difference. */
export function setting(targetMicros: number, createdAt: number): BalanceChange {
  const delta = (balance: SQL) => sql`${literal(targetMicros)} - ${balance}`;
  return { rows: [{ sessionId: null, kind: "adjustment", createdAt, delta }], total: delta };
}

/** D1 binds at most 100 values per statement; a ledger row binds 4 and its delta (a subquery binding the user id) 1. */
const LEDGER_ROWS_PER_INSERT = 20;

/**
 * The statements of a balance change, last in their atomic write. The ledger rows and the balance update must read
 * one balance: where atomic writes interleave (PostgreSQL runs each as a read-committed transaction), the user's row
 * is held first, as an update takes the row's lock until the transaction ends (concurrent charges and admin changes
 * queue behind it); a D1 batch runs alone, so there the hold would only cost a statement and a row written.
 */
export function balanceWrite(
  db: StoreDb,
  { users, costLedger }: StoreTables,
  userId: string,
  change: BalanceChange,
  { interleaves }: Pick<SqlEngine, "interleaves">,
): BatchItem<"sqlite">[] {
  // Each row's delta is one scalar subquery over the user's row, so the balance is read once per row, however often
  // the delta's SQL names it. Written as SQL, not a select builder: a builder per row cost more than the commit's
  // other statements together.
  const deltaNow = (delta: (balance: SQL) => SQL) => sql`(select ${delta(sql`${users.balanceMicros}`)} from ${users} where ${users.id} = ${userId})`;
  const inserts = chunked(change.rows, LEDGER_ROWS_PER_INSERT).map((rows) =>
    db
      .insert(costLedger)
      .values(rows.map(({ delta, ...line }) => ({ ...line, userId, deltaMicros: deltaNow(delta) })))
      .returning({ id: costLedger.id, deltaMicros: costLedger.deltaMicros }),
  );
  const update = db
    .update(users)
    .set({ balanceMicros: sql`${users.balanceMicros} + (${change.total(sql`${users.balanceMicros}`)})` })
    .where(eq(users.id, userId))
    .returning({ balanceMicros: users.balanceMicros });
  return interleaves ? [lockRow(db, users, userId), ...inserts, update] : [...inserts, update];
}

/** What a balance change did, from the results of its atomic write (its statements last): the rows' deltas as
 *  written, in order, and the balance after it. */
export function balanceWritten(change: BalanceChange, results: readonly unknown[]): { deltasMicros: number[]; balanceMicros: number } {
  const inserts = Math.ceil(change.rows.length / LEDGER_ROWS_PER_INSERT);
  const written = results.slice(results.length - 1 - inserts, results.length - 1) as { id: number; deltaMicros: number }[][];
  // RETURNING need not follow the VALUES order: the ids do.
  const deltasMicros = written
    .flat()
    .sort((a, b) => a.id - b.id)
    .map((row) => row.deltaMicros);
  const after = results[results.length - 1] as { balanceMicros: number }[];
  return { deltasMicros, balanceMicros: after[0]?.balanceMicros ?? 0 };
}

/** A no-op update: on PostgreSQL it holds the row's lock to the end of the transaction. */
function lockRow(db: StoreDb, users: StoreTables["users"], userId: string) {
  return db
    .update(users)
    .set({ balanceMicros: sql`${users.balanceMicros}` })
    .where(eq(users.id, userId));
}

/** How much of `charge` a balance of `left` covers: all of it, what is left, or nothing. */
function taken(left: SQL, charge: number): SQL {
  return sql`case when (${left}) <= 0 then 0 when (${left}) < ${literal(charge)} then (${left}) else ${literal(charge)} end`;
}

/** An integer written into the SQL text: typed by both engines as a number (a bound value in a CASE may be read as
 *  text by PostgreSQL), and bound values kept for what D1 limits. Only safe integers, so nothing else gets in. */
function literal(n: number): SQL {
  if (!Number.isSafeInteger(n)) throw new Error(`not a whole number of micro-dollars: ${n}`);
  return sql.raw(n < 0 ? `(${n})` : String(n));
}

// Owns counting D1 round trips (reads and writes) when STORAGE_METRICS is on, for `npm run bench`:
// every executed statement or batch is one round trip, a write when any statement in it writes.
export interface StorageCounts {
  reads: number;
  writes: number;
}

const counts: StorageCounts = { reads: 0, writes: 0 };
const originals = new WeakMap<D1PreparedStatement, D1PreparedStatement>();
const writing = new WeakMap<D1PreparedStatement, boolean>();
const EXECUTE = new Set(["all", "run", "first", "raw"]);

export function storageCounts(): StorageCounts {
  return { ...counts };
}

function tally(write: boolean) {
  if (write) counts.writes++;
  else counts.reads++;
}

function countedStatement(statement: D1PreparedStatement, write: boolean): D1PreparedStatement {
  const counted = new Proxy(statement, {
    get(target, property) {
      if (property === "bind") return (...values: unknown[]) => countedStatement(target.bind(...values), write);
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      if (EXECUTE.has(String(property))) {
        return (...args: unknown[]) => {
          tally(write);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
  originals.set(counted, statement);
  writing.set(counted, write);
  return counted;
}

/** The binding, counting its round trips. */
export function countedD1(binding: D1Database): D1Database {
  return new Proxy(binding, {
    get(target, property) {
      if (property === "prepare") {
        return (query: string) => countedStatement(target.prepare(query), !/^\s*(select|with)\b/i.test(query));
      }
      if (property === "batch") {
        return (statements: D1PreparedStatement[]) => {
          tally(statements.some((s) => writing.get(s) ?? true));
          return target.batch(statements.map((s) => originals.get(s) ?? s));
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

// Owns counting, inside the runtime, what Cloudflare bills a Worker for (`npm run bench`'s billable units): the
// benchmark bundles a checkout's Worker behind this wrapper (an entry module generated per checkout by
// bench/lib/stack.ts), which counts nothing until POST /__bench/meter/on. From then on it counts Worker requests;
// Durable Object requests where a stub is called (each RPC method call or fetch); incoming WebSocket messages and
// alarms at the object; each object's active (handler-running) time; storage rows (key-value calls by key, SQL by
// the cursor's own rowsRead/rowsWritten); D1 rows from D1's own answers (meta.rows_read, rows_written); and
// subrequests (fetch(), and the agent's calls as the instant agent counts them). Only objects made while it
// counts are counted, and not those that existed before it counted (the runtime makes an evicted object again to
// ring its alarm: an earlier phase's session going idle is not the metered user's work): the benchmark meters
// fresh users.
import type { MeterCounts } from "./counts.ts";

const empty = (): MeterCounts => ({
  workerRequests: 0,
  doCalls: {},
  wsMessages: {},
  alarms: 0,
  doActiveMs: 0,
  doRowsRead: 0,
  doRowsWritten: 0,
  d1RowsRead: 0,
  d1RowsWritten: 0,
  d1Queries: 0,
  subrequests: {},
});

let on = false;
let counts = empty();
const bump = (table: Record<string, number>, key: string, by = 1) => void (table[key] = (table[key] ?? 0) + by);

type AnyFunction = (...args: unknown[]) => unknown;
const isFunction = (value: unknown): value is AnyFunction => typeof value === "function";

/** The stubs behind this file's proxies: a proxy cannot cross an RPC boundary, so arguments are unwrapped. */
const proxied = new WeakMap<object, object>();

/** `value` with every proxied stub in it (in arrays and plain objects, a few levels deep) replaced by the stub. */
function unwrap(value: unknown, depth = 0): unknown {
  if (!value || typeof value !== "object" || depth > 4) return value;
  const stub = proxied.get(value);
  if (stub) return stub;
  if (Array.isArray(value)) return value.map((v) => unwrap(v, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrap(v, depth + 1)]));
}

/** Calls of a Durable Object stub: every method call (an RPC session) and fetch is one request. */
function meteredStub(stub: object, binding: string): object {
  const proxy = new Proxy(stub, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof property !== "string" || property === "then" || !isFunction(value)) return value;
      return (...args: unknown[]) => {
        bump(counts.doCalls, `${binding}.${property}`);
        return Reflect.apply(value, target, args.map((a) => unwrap(a)));
      };
    },
  });
  proxied.set(proxy, stub);
  return proxy;
}

function meteredNamespace(namespace: DurableObjectNamespace, binding: string): DurableObjectNamespace {
  return new Proxy(namespace, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (!isFunction(value)) return value;
      if (property === "get" || property === "getByName") {
        return (...args: unknown[]) => meteredStub(Reflect.apply(value, target, args) as object, binding);
      }
      return value.bind(target);
    },
  });
}

/** Calls the instant agent (the AGENT binding in the benchmark) has answered, by its own count; null without it. */
async function agentCalls(env: object): Promise<number | null> {
  const agent: unknown = Reflect.get(env, "AGENT");
  if (!agent || typeof agent !== "object" || !isFunction((agent as Fetcher).fetch)) return null;
  try {
    const response = await (agent as Fetcher).fetch("http://agent/__bench/calls");
    return response.ok ? ((await response.json()) as { calls: number }).calls : null;
  } catch {
    return null;
  }
}
let agentCallsAtReset: number | null = null;

interface D1Answer {
  meta?: { rows_read?: number; rows_written?: number };
}
const patchedD1 = new WeakSet<object>();

/** D1's rows as D1 itself reports them: every statement's answer carries meta.rows_read and rows_written, which
 *  first() and raw() drop, so this counts them where workerd's D1 binding receives them (its `_send`). */
function meterD1(database: object): void {
  // The binding sends through a session object it holds (alwaysPrimarySession), whose class has _send.
  const holders = [database, ...Object.values(database).filter((v): v is object => !!v && typeof v === "object")];
  for (const holder of holders) {
    patchSend(holder);
  }
}

function patchSend(holder: object): void {
  for (let proto: object | null = holder; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    const send: unknown = Object.getOwnPropertyDescriptor(proto, "_send")?.value;
    if (!isFunction(send) || patchedD1.has(proto)) continue;
    patchedD1.add(proto);
    Object.defineProperty(proto, "_send", {
      configurable: true,
      writable: true,
      value: async function (this: unknown, ...args: unknown[]) {
        const answer = (await Reflect.apply(send, this, args)) as D1Answer | D1Answer[];
        if (on) {
          for (const one of Array.isArray(answer) ? answer : [answer]) {
            counts.d1Queries++;
            counts.d1RowsRead += one.meta?.rows_read ?? 0;
            counts.d1RowsWritten += one.meta?.rows_written ?? 0;
          }
        }
        return answer;
      },
    });
  }
}

const meteredEnvs = new WeakMap<object, object>();

/** The bindings, each counted by its kind; one proxy per env object, so caches keyed on env keep working. */
export function meterEnv<E extends object>(env: E): E {
  if (!on) return env;
  const known = meteredEnvs.get(env);
  if (known) return known as E;
  const wrapped: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value && typeof value === "object" && isFunction((value as DurableObjectNamespace).idFromName)) {
      wrapped[name] = meteredNamespace(value as DurableObjectNamespace, name);
    } else if (value && typeof value === "object" && isFunction((value as D1Database).prepare) && isFunction((value as D1Database).batch)) {
      meterD1(value);
      wrapped[name] = value;
    } else if (value && typeof value === "object" && isFunction((value as Fetcher).fetch) && !isFunction((value as R2Bucket).head)) {
      wrapped[name] = value; // service bindings: counted by the agent itself (agentCalls)
    } else wrapped[name] = value;
  }
  const result = new Proxy(env, { get: (target, property) => (typeof property === "string" && property in wrapped ? wrapped[property] : Reflect.get(target, property)) });
  meteredEnvs.set(env, result);
  return result;
}

// ---- Durable Object storage ----------------------------------------------------------------------------------

const keysIn = (keys: unknown): number => (Array.isArray(keys) ? keys.length : 1);
const entriesIn = (first: unknown): number => (typeof first === "string" ? 1 : Object.keys(first as object).length);

/** Key-value calls bill one row per key (the pricing page: they "are billed as rows read and rows written");
 *  list() the rows it returns; setAlarm() one row written. */
const kvCost: Record<string, (args: unknown[], result: unknown) => [read: number, written: number]> = {
  get: (args) => [keysIn(args[0]), 0],
  put: (args) => [0, entriesIn(args[0])],
  delete: (args) => [0, keysIn(args[0])],
  list: (_args, result) => [Math.max(1, (result as Map<string, unknown>).size), 0],
  setAlarm: () => [0, 1],
  deleteAlarm: () => [0, 1],
};

function tallyKv(method: string, args: unknown[], result: unknown): void {
  const cost = kvCost[method];
  if (!cost) return;
  const [read, written] = cost(args, result);
  counts.doRowsRead += read;
  counts.doRowsWritten += written;
}

const patched = new WeakSet<object>();

/** Counts the key-value calls of a storage object (or a transaction), by giving the object itself counting
 *  methods: the runtime accepts only its own state object, and the backend hands `ctx.storage` to its parts. */
function meterKv(storage: object): void {
  if (patched.has(storage)) return;
  patched.add(storage);
  for (const method of Object.keys(kvCost)) {
    const original: unknown = Reflect.get(storage, method);
    if (!isFunction(original)) continue;
    Object.defineProperty(storage, method, {
      configurable: true,
      writable: true,
      value: (...args: unknown[]) => {
        const result = Reflect.apply(original, storage, args);
        if (!on) return result;
        if (result instanceof Promise) return result.then((settled: unknown) => (tallyKv(method, args, settled), settled));
        tallyKv(method, args, result);
        return result;
      },
    });
  }
}

interface Cursor {
  rowsRead: number;
  rowsWritten: number;
}
/** SQL cursors of an object, read when it next runs SQL and when its handler ends (a cursor counts as it is read). */
class CursorLedger {
  private readonly open: { cursor: Cursor; read: number; written: number }[] = [];
  track(cursor: Cursor): void {
    this.settle();
    this.open.push({ cursor, read: 0, written: 0 });
  }
  settle(): void {
    for (const entry of this.open) {
      counts.doRowsRead += entry.cursor.rowsRead - entry.read;
      counts.doRowsWritten += entry.cursor.rowsWritten - entry.written;
      entry.read = entry.cursor.rowsRead;
      entry.written = entry.cursor.rowsWritten;
    }
    this.open.splice(0, Math.max(0, this.open.length - 16));
  }
}

/** Counts an object's storage: key-value calls (also inside transactions and on the synchronous `kv`), SQL cursors. */
function meterStorage(storage: DurableObjectStorage, ledger: CursorLedger): void {
  meterKv(storage);
  const transaction = storage.transaction;
  Object.defineProperty(storage, "transaction", {
    configurable: true,
    writable: true,
    value: <T>(closure: (txn: DurableObjectTransaction) => Promise<T>) => transaction.call(storage, (txn: DurableObjectTransaction) => (meterKv(txn), closure(txn))),
  });
  try {
    const sql = storage.sql;
    const exec = sql.exec;
    Object.defineProperty(sql, "exec", {
      configurable: true,
      writable: true,
      value: (...args: Parameters<SqlStorage["exec"]>) => {
        const cursor = Reflect.apply(exec, sql, args);
        ledger.track(cursor);
        return cursor;
      },
    });
  } catch {
    // a class without SQLite storage
  }
  try {
    meterKv(storage.kv);
  } catch {
    // no synchronous key-value API here
  }
}

// ---- Durable Object classes ------------------------------------------------------------------------------------

interface Metered {
  /** Handlers running now, and since when the object has been busy. */
  active: number;
  since: number;
  ledger: CursorLedger;
}
const meteredObjects = new WeakMap<object, Metered>();
/** Ids of objects made while metering was off (one isolate holds every object of the Worker here). */
const madeBeforeMetering = new Set<string>();

/** Runs a handler of `object`, adding to the active time; keeps a synchronous method synchronous. */
function track(object: object, run: () => unknown): unknown {
  const metered = meteredObjects.get(object);
  if (!metered) return run();
  if (metered.active++ === 0) metered.since = Date.now();
  const end = () => {
    metered.ledger.settle();
    if (--metered.active === 0) counts.doActiveMs += Date.now() - metered.since;
  };
  let result: unknown;
  try {
    result = run();
  } catch (error) {
    end();
    throw error;
  }
  if (result instanceof Promise) return result.finally(end);
  end();
  return result;
}

type DurableObjectClass = new (state: DurableObjectState, env: object) => object;

/** The class, counting what its instances made while metering was on do: entries (fetch, WebSocket messages,
 *  alarms, RPC methods) for active time, WebSocket messages and alarms as requests, storage rows, and the calls
 *  they make through their bindings. */
export function meteredClass<C extends DurableObjectClass>(Base: C, className: string): C {
  const Metered = class extends (Base as DurableObjectClass) {
    constructor(state: DurableObjectState, env: object) {
      const ledger = new CursorLedger();
      const id = state.id.toString();
      if (!on) madeBeforeMetering.add(id);
      const counted = on && !madeBeforeMetering.has(id);
      if (counted) meterStorage(state.storage, ledger);
      super(state, counted ? meterEnv(env) : env);
      if (counted) meteredObjects.set(this, { active: 0, since: 0, ledger });
    }
  };
  const names = new Set<string>();
  for (let proto: object | null = Base.prototype as object; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === "constructor" || names.has(name) || !isFunction(Object.getOwnPropertyDescriptor(proto, name)?.value)) continue;
      names.add(name);
    }
  }
  for (const name of names) {
    const method = (Base.prototype as Record<string, AnyFunction>)[name]!;
    Object.defineProperty(Metered.prototype, name, {
      configurable: true,
      writable: true,
      value: function (this: object, ...args: unknown[]) {
        if (!meteredObjects.has(this)) return Reflect.apply(method, this, args);
        if (name === "webSocketMessage") bump(counts.wsMessages, className);
        if (name === "alarm") counts.alarms++;
        // Calls of one method from another inside the object run within the outer one's active time.
        return track(this, () => Reflect.apply(method, this, args));
      },
    });
  }
  return Metered as unknown as C;
}

// ---- the Worker ------------------------------------------------------------------------------------------------

const originalFetch = globalThis.fetch;
globalThis.fetch = (...args: Parameters<typeof fetch>) => {
  if (on) bump(counts.subrequests, "fetch");
  return originalFetch(...args);
};

/** The Worker's handler, with /__bench/meter (GET: the counts; POST on, off, reset) in front. */
export function meteredHandler<E extends object>(handler: ExportedHandler<E>): ExportedHandler<E> {
  return {
    ...handler,
    async fetch(request, env, ctx) {
      const { pathname } = new URL(request.url);
      if (pathname.startsWith("/__bench/meter")) {
        const action = pathname.slice("/__bench/meter".length);
        if (request.method === "POST" && action === "/on") on = true;
        else if (request.method === "POST" && action === "/off") on = false;
        else if (request.method === "POST" && action === "/reset") {
          counts = empty();
          agentCallsAtReset = await agentCalls(env);
        }
        else if (request.method !== "GET" || action !== "") return new Response("GET /__bench/meter, POST /__bench/meter/{on,off,reset}", { status: 404 });
        const agent = await agentCalls(env);
        const read = agent !== null && agentCallsAtReset !== null ? { ...counts, subrequests: { ...counts.subrequests, AGENT: agent - agentCallsAtReset } } : counts;
        return Response.json({ on, counts: read });
      }
      if (on) counts.workerRequests++;
      return handler.fetch!(request as Parameters<NonNullable<ExportedHandler<E>["fetch"]>>[0], meterEnv(env), ctx);
    },
  };
}

// Owns the storage contract the domain depends on: record shapes and the store's interfaces, one per kind of user
// (accounts, sessions, files, the admin API), which ChatStore joins. Engines implement it; domain code never sees SQL.
import type { historyRoles, ledgerKinds } from "./schema";

export type HistoryRole = (typeof historyRoles)[number];
export type LedgerKind = (typeof ledgerKinds)[number];

export interface HistoryEntry {
  role: HistoryRole;
  content: string;
}

export interface UserRecord {
  id: string;
  username: string;
  balanceMicros: number;
}

export interface UserWithModels extends UserRecord {
  modelIds: number[];
  createdAt: number;
}

export interface ModelRecord {
  id: number;
  name: string;
  provider: string;
  contextLength: number;
  inputMicrosPer1k: number;
  outputMicrosPer1k: number;
}

export type ModelRef = { id: number } | { name: string };

/** A model as the catalog keeps it: `retiredAt` (epoch ms) once retired, else null. */
export interface CatalogModel extends ModelRecord {
  retiredAt: number | null;
}

/** A model to add to the catalog; `id` chosen by the engine when absent. */
export interface NewModel {
  id?: number;
  name: string;
  provider: string;
  contextLength: number;
  inputMicrosPer1k: number;
  outputMicrosPer1k: number;
}

export type ModelCreation = { created: true; model: CatalogModel } | { created: false; reason: "taken" };

export interface ModelChanges {
  provider?: string;
  contextLength?: number;
  inputMicrosPer1k?: number;
  outputMicrosPer1k?: number;
}

/** What a turn needs to know about its user and model, read in one round trip. */
export interface TurnAuthorization {
  balanceMicros: number;
  model: ModelRecord | null;
  granted: boolean;
}

export interface SessionRecord {
  id: string;
  userId: string;
  modelId: number;
  name: string;
  prompt: string;
  summary: string;
  createdAt: number;
  lastActiveAt: number;
  /** The event stream's readers have this session (schema.ts says when); false for a session started here until an
   *  event that starts it is staged. */
  streamed: boolean;
}

export interface SessionListItem {
  id: string;
  name: string;
}

export interface FileRecord {
  fileName: string;
  sessionId: string;
  userId: string;
  originalName: string;
  contentType: string;
  size: number;
  r2Key: string;
  createdAt: number;
}

export interface StoredSessionContext {
  session: SessionRecord;
  /** The newest history entries, oldest first. */
  recentHistory: HistoryEntry[];
  nextSeq: number;
  files: FileRecord[];
}

/** Everything one answered turn writes. */
export interface TurnCommit {
  session: SessionRecord;
  isNew: boolean;
  entries: HistoryEntry[];
  firstSeq: number;
  chargeMicros: number;
  /** The user account's reservation the charge was made under (absent in journals written before reservations). */
  reservationId?: string;
  at: number;
}

export interface SummaryCommit {
  sessionId: string;
  userId: string;
  summary: string;
  chargeMicros: number;
  reservationId?: string;
  at: number;
}

/** One write of a session, journaled by its object and committed later in a batch (domain/pending-writes.ts). */
export type SessionWrite = { kind: "turn"; turn: TurnCommit } | { kind: "summary"; summary: SummaryCommit };

export interface WriteBatchResult {
  /** The batch had been committed before (an earlier attempt's acknowledgement was lost); nothing was applied now. */
  alreadyApplied: boolean;
  /** For each write, the user's balance right after its charge; empty when `alreadyApplied`. */
  balancesMicros: number[];
}

export interface NewUser {
  id: string;
  username: string;
  balanceMicros: number;
  modelIds: number[];
}

/** An API key of a user; `secretHash` is the hex SHA-256 of its secret (the secret itself is never stored). */
export interface ApiKeyRecord {
  id: string;
  userId: string;
  secretHash: string;
  createdAt: number;
  revokedAt: number | null;
}

/** Where a page of users starts: after this user in the (createdAt, id) order. */
export interface UserPosition {
  createdAt: number;
  id: string;
}

export interface UserPageQuery {
  limit: number;
  after: UserPosition | null;
  /** Only users whose username contains this, ignoring (ASCII) case. */
  nameContains: string | null;
}

/** One row of the cost ledger: a signed change of a balance (charges are negative). */
export interface LedgerEntry {
  id: number;
  userId: string;
  sessionId: string | null;
  kind: LedgerKind;
  deltaMicros: number;
  createdAt: number;
}

/** Where a page of a user's ledger starts: after (older than) this entry in the newest-first order. */
export interface LedgerPosition {
  createdAt: number;
  id: number;
}

export type UserCreation = { created: true; user: UserWithModels } | { created: false; reason: "id-taken" };

export interface UserChanges {
  username?: string;
  setBalanceMicros?: number;
  addBalanceMicros?: number;
  modelIds?: number[];
}

/** The database connection itself: what the Worker's health check and a request's end use. */
export interface StoreConnection {
  /** Releases the engine's connection (a no-op on D1). */
  close(): Promise<void>;
  /** Throws when the database cannot answer. */
  ping(): Promise<void>;
}

/** A user's account as the running service reads it: the user and balance, the models they may use, the catalog's
 *  prices, an API key by id. Used by the user's account object, turns, sign-in and the user reads of the socket. */
export interface AccountStore {
  findUser(userId: string): Promise<UserRecord | null>;
  /** Models the user may use (granted and not retired), sorted by id. */
  listGrantedModels(userId: string): Promise<ModelRecord[]>;
  /** null when the user does not exist; a retired model is not `granted`. */
  authorizeTurn(userId: string, model: ModelRef): Promise<TurnAuthorization | null>;
  findModelByName(name: string): Promise<ModelRecord | null>;
  /** Sorted by id; ids that name no model are left out. */
  findModelsById(ids: number[]): Promise<CatalogModel[]>;
  findApiKey(keyId: string): Promise<ApiKeyRecord | null>;
}

/** Sessions and their history: what a session object writes and the session reads of the socket use. */
export interface SessionStore {
  /** Most recently active first. */
  listSessions(userId: string): Promise<SessionListItem[]>;
  findSession(sessionId: string): Promise<SessionRecord | null>;
  loadSessionContext(sessionId: string, historyLimit: number): Promise<StoredSessionContext | null>;
  readHistory(sessionId: string): Promise<HistoryEntry[]>;
  /** Up to `limit` entries starting at sequence number `fromSeq`. */
  readHistoryFrom(sessionId: string, fromSeq: number, limit: number): Promise<HistoryEntry[]>;
  /**
   * Commits a session's writes, in order, as one atomic write identified by `batchId`. A `retry` first checks
   * whether that batch was already committed, so a batch is never applied twice.
   */
  commitWrites(batchId: string, writes: readonly SessionWrite[], retry: boolean, at: number): Promise<WriteBatchResult>;
  deleteSession(sessionId: string): Promise<void>;
}

/** Uploaded files: recorded by their session's object, listed with its history, served by the file routes. */
export interface FileStore {
  /** Records an uploaded file; with `newSession`, creates that session in the same atomic write. */
  registerFile(file: FileRecord, newSession: SessionRecord | null): Promise<void>;
  findFile(fileName: string): Promise<FileRecord | null>;
  listSessionFiles(sessionId: string): Promise<FileRecord[]>;
}

/** The operator's side (admin API): the catalog, users with their grants, balances and ledger, API keys. */
export interface AdminStore {
  /** Every model, retired ones included, sorted by id. */
  listModels(): Promise<CatalogModel[]>;
  createModel(model: NewModel): Promise<ModelCreation>;
  /** null when there is no such model. */
  updateModel(modelId: number, changes: ModelChanges): Promise<CatalogModel | null>;
  /** null when there is no such model; retiring twice keeps the first time. */
  retireModel(modelId: number, at: number): Promise<CatalogModel | null>;
  /** Ids of the users granted this model. */
  usersGrantedModel(modelId: number): Promise<string[]>;

  createUser(user: NewUser, at: number): Promise<UserCreation>;
  getUserWithModels(userId: string): Promise<UserWithModels | null>;
  /** Up to `limit` users in (createdAt, id) order, with their grants. */
  listUsers(query: UserPageQuery): Promise<UserWithModels[]>;
  /** Up to `limit` of the user's ledger entries, newest first (createdAt, then id, descending). */
  listLedger(userId: string, limit: number, after: LedgerPosition | null): Promise<LedgerEntry[]>;
  /** null when the user does not exist. All or nothing: an `addBalanceMicros` that would leave the balance outside 0
   *  to MAX_BALANCE throws BalanceOutOfBounds (balance-change.ts) and changes nothing. */
  updateUser(userId: string, changes: UserChanges, at: number): Promise<UserWithModels | null>;
  /** Ids of the user's sessions active at or after `sinceMs` (their turns commit before a balance is set by hand). */
  sessionsActiveSince(userId: string, sinceMs: number): Promise<string[]>;

  createApiKey(key: ApiKeyRecord): Promise<void>;
  /** Oldest first. */
  listApiKeys(userId: string): Promise<ApiKeyRecord[]>;
  /** false when the user has no such key; revoking twice keeps the first time. */
  revokeApiKey(userId: string, keyId: string, at: number): Promise<boolean>;
}

/** The whole store, as an engine implements it and the code that opens it holds it; everything else depends on
 *  the narrow part it uses. */
export interface ChatStore extends StoreConnection, AccountStore, SessionStore, FileStore, AdminStore {}

// Owns the ChatStore, written once with drizzle for every engine: each read and write of the domain, and
// each batch of a session's writes as one atomic write. What differs between D1 and PostgreSQL lives in engines.ts.
import { and, asc, desc, eq, gt, gte, inArray, isNull, lt, or, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type {
  ApiKeyRecord,
  CatalogModel,
  ChatStore,
  FileRecord,
  HistoryEntry,
  LedgerEntry,
  LedgerPosition,
  ModelChanges,
  ModelCreation,
  ModelRecord,
  ModelRef,
  NewModel,
  NewUser,
  SessionListItem,
  SessionRecord,
  SessionWrite,
  StoredSessionContext,
  TurnAuthorization,
  UserChanges,
  UserCreation,
  UserPageQuery,
  UserRecord,
  UserWithModels,
  WriteBatchResult,
} from "./chat-store";
import type { SqlEngine, Statements, StoreDb, StoreTables } from "./engines";
import { addition, balanceInBounds, balanceWrite, balanceWritten, BalanceOutOfBounds, debit, setting } from "./balance-change";
import { balancesAfterEachWrite, chunkRows, foldWrites } from "./write-batch";

/** D1 binds at most 100 values per statement; multi-row inserts are split to stay under it. */
const MAX_BOUND_PARAMETERS = 100;

export class DrizzleChatStore implements ChatStore {
  private readonly db: StoreDb;
  private readonly t: StoreTables;

  constructor(private readonly engine: SqlEngine) {
    this.db = engine.db;
    this.t = engine.tables;
  }

  close(): Promise<void> {
    return this.engine.close();
  }

  async ping(): Promise<void> {
    const { models } = this.t;
    await this.db.select({ id: models.id }).from(models).limit(1);
  }

  async findUser(userId: string): Promise<UserRecord | null> {
    const { users } = this.t;
    const rows = await this.db.select(this.userColumns()).from(users).where(eq(users.id, userId)).limit(1);
    return rows[0] ?? null;
  }

  listGrantedModels(userId: string): Promise<ModelRecord[]> {
    const { models, userModels } = this.t;
    return this.db
      .select(this.modelColumns())
      .from(userModels)
      .innerJoin(models, eq(models.id, userModels.modelId))
      .where(and(eq(userModels.userId, userId), isNull(models.retiredAt)))
      .orderBy(asc(models.id));
  }

  async authorizeTurn(userId: string, model: ModelRef): Promise<TurnAuthorization | null> {
    const { users, models, userModels } = this.t;
    const modelMatch = "id" in model ? eq(models.id, model.id) : eq(models.name, model.name);
    const rows = await this.db
      .select({ balanceMicros: users.balanceMicros, model: this.modelColumns(), grantedModel: userModels.modelId })
      .from(users)
      .leftJoin(models, modelMatch)
      // A retired model reads as not granted: refused for new turns with the usual "no model access".
      .leftJoin(userModels, and(eq(userModels.userId, users.id), eq(userModels.modelId, models.id), isNull(models.retiredAt)))
      .where(eq(users.id, userId))
      .limit(1);
    const row = rows[0];
    if (!row) return null;
    return { balanceMicros: row.balanceMicros, model: row.model, granted: row.grantedModel !== null };
  }

  async findModelByName(name: string): Promise<ModelRecord | null> {
    const { models } = this.t;
    const rows = await this.db.select(this.modelColumns()).from(models).where(eq(models.name, name)).limit(1);
    return rows[0] ?? null;
  }

  findModelsById(ids: number[]): Promise<CatalogModel[]> {
    const { models } = this.t;
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.select(this.catalogColumns()).from(models).where(inArray(models.id, ids)).orderBy(asc(models.id));
  }

  listModels(): Promise<CatalogModel[]> {
    const { models } = this.t;
    return this.db.select(this.catalogColumns()).from(models).orderBy(asc(models.id));
  }

  async createModel(model: NewModel): Promise<ModelCreation> {
    const { models } = this.t;
    try {
      const [created] = await this.db.insert(models).values(model).returning(this.catalogColumns());
      return { created: true, model: created! };
    } catch (error) {
      // A unique name or a given id already in use; anything else is a real failure.
      const idMatch = model.id === undefined ? undefined : eq(models.id, model.id);
      const taken = await this.db.select({ id: models.id }).from(models).where(or(eq(models.name, model.name), idMatch)).limit(1);
      if (taken.length > 0) return { created: false, reason: "taken" };
      throw error;
    }
  }

  async updateModel(modelId: number, changes: ModelChanges): Promise<CatalogModel | null> {
    const { models } = this.t;
    if (!Object.values(changes).some((value) => value !== undefined)) return (await this.findModelsById([modelId]))[0] ?? null;
    const rows = await this.db.update(models).set(changes).where(eq(models.id, modelId)).returning(this.catalogColumns());
    return rows[0] ?? null;
  }

  async retireModel(modelId: number, at: number): Promise<CatalogModel | null> {
    const { models } = this.t;
    const rows = await this.db
      .update(models)
      .set({ retiredAt: sql`coalesce(${models.retiredAt}, ${at})` })
      .where(eq(models.id, modelId))
      .returning(this.catalogColumns());
    return rows[0] ?? null;
  }

  async usersGrantedModel(modelId: number): Promise<string[]> {
    const { userModels } = this.t;
    const rows = await this.db.select({ userId: userModels.userId }).from(userModels).where(eq(userModels.modelId, modelId));
    return rows.map((r) => r.userId);
  }

  listSessions(userId: string): Promise<SessionListItem[]> {
    const { sessions } = this.t;
    return this.db
      .select({ id: sessions.id, name: sessions.name })
      .from(sessions)
      .where(eq(sessions.userId, userId))
      .orderBy(desc(sessions.lastActiveAt), desc(sessions.createdAt));
  }

  async sessionsActiveSince(userId: string, sinceMs: number): Promise<string[]> {
    const { sessions } = this.t;
    const rows = await this.db
      .select({ id: sessions.id })
      .from(sessions)
      .where(and(eq(sessions.userId, userId), gte(sessions.lastActiveAt, sinceMs)));
    return rows.map((r) => r.id);
  }

  async findSession(sessionId: string): Promise<SessionRecord | null> {
    const { sessions } = this.t;
    const rows = await this.db.select().from(sessions).where(eq(sessions.id, sessionId)).limit(1);
    return rows[0] ?? null;
  }

  async loadSessionContext(sessionId: string, historyLimit: number): Promise<StoredSessionContext | null> {
    const { sessions, messages, files } = this.t;
    // The newest entries come from the (session_id, seq) primary key, so the cost does not grow with history.
    const [sessionRows, newestFirst, sessionFiles] = await this.engine.readTogether((db) => [
      db.select().from(sessions).where(eq(sessions.id, sessionId)).limit(1),
      db
        .select({ role: messages.role, content: messages.content, seq: messages.seq })
        .from(messages)
        .where(eq(messages.sessionId, sessionId))
        .orderBy(desc(messages.seq))
        .limit(historyLimit),
      db.select().from(files).where(eq(files.sessionId, sessionId)).orderBy(asc(files.createdAt)),
    ]);
    const session = sessionRows[0];
    if (!session) return null;
    const nextSeq = newestFirst.length > 0 ? newestFirst[0]!.seq + 1 : 0;
    const recentHistory = newestFirst.reverse().map(({ role, content }) => ({ role, content }));
    return { session, recentHistory, nextSeq, files: sessionFiles };
  }

  readHistory(sessionId: string): Promise<HistoryEntry[]> {
    const { messages } = this.t;
    return this.db
      .select({ role: messages.role, content: messages.content })
      .from(messages)
      .where(eq(messages.sessionId, sessionId))
      .orderBy(asc(messages.seq));
  }

  readHistoryFrom(sessionId: string, fromSeq: number, limit: number): Promise<HistoryEntry[]> {
    const { messages } = this.t;
    return this.db
      .select({ role: messages.role, content: messages.content })
      .from(messages)
      .where(and(eq(messages.sessionId, sessionId), gte(messages.seq, fromSeq)))
      .orderBy(asc(messages.seq))
      .limit(limit);
  }

  async commitWrites(batchId: string, writes: readonly SessionWrite[], retry: boolean, at: number): Promise<WriteBatchResult> {
    const { appliedWrites, sessions, messages } = this.t;
    if (retry) {
      const seen = await this.db.select({ id: appliedWrites.id }).from(appliedWrites).where(eq(appliedWrites.id, batchId)).limit(1);
      if (seen.length > 0) return { alreadyApplied: true, balancesMicros: [] };
    }
    const folded = foldWrites(writes);
    const charges = folded.ledger.map(({ sessionId, kind, deltaMicros, createdAt }) => ({ sessionId: sessionId ?? null, kind, createdAt, chargeMicros: -deltaMicros }));
    const charged = debit(charges);
    const results = await this.engine.atomic((db) => {
      // The guard row first: if this batch id was committed already, its primary key aborts the whole batch.
      const statements: [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]] = [db.insert(appliedWrites).values({ id: batchId, createdAt: at })];
      if (folded.newSession) statements.push(db.insert(sessions).values(folded.newSession));
      else if (Object.keys(folded.sessionChanges).length > 0) {
        statements.push(db.update(sessions).set(folded.sessionChanges).where(eq(sessions.id, folded.sessionId)));
      }
      for (const rows of chunkRows(folded.messages, MAX_BOUND_PARAMETERS)) statements.push(db.insert(messages).values(rows));
      statements.push(...balanceWrite(db, this.t, folded.userId, charged, this.engine));
      return statements;
    });
    const { deltasMicros, balanceMicros } = balanceWritten(charged, results);
    return { alreadyApplied: false, balancesMicros: balancesAfterEachWrite(deltasMicros, balanceMicros) };
  }

  async deleteSession(sessionId: string): Promise<void> {
    const { sessions } = this.t;
    // Messages and file rows go with the session through ON DELETE CASCADE.
    await this.db.delete(sessions).where(eq(sessions.id, sessionId));
  }

  async registerFile(file: FileRecord, newSession: SessionRecord | null): Promise<void> {
    const { sessions, files } = this.t;
    if (newSession) {
      await this.engine.atomic((db) => [db.insert(sessions).values(newSession), db.insert(files).values(file)]);
    } else {
      await this.db.insert(files).values(file);
    }
  }

  async findFile(fileName: string): Promise<FileRecord | null> {
    const { files } = this.t;
    const rows = await this.db.select().from(files).where(eq(files.fileName, fileName)).limit(1);
    return rows[0] ?? null;
  }

  listSessionFiles(sessionId: string): Promise<FileRecord[]> {
    const { files } = this.t;
    return this.db.select().from(files).where(eq(files.sessionId, sessionId)).orderBy(asc(files.createdAt));
  }

  async createUser(user: NewUser, at: number): Promise<UserCreation> {
    const { users, userModels, costLedger } = this.t;
    const modelIds = [...new Set(user.modelIds)].sort((a, b) => a - b);
    const grants = modelIds.map((modelId) => ({ userId: user.id, modelId }));
    try {
      await this.engine.atomic((db) => {
        const statements: [Statements[0], ...Statements[number][]] = [
          db.insert(users).values({ id: user.id, username: user.username, balanceMicros: user.balanceMicros, createdAt: at }),
        ];
        if (grants.length > 0) statements.push(db.insert(userModels).values(grants));
        if (user.balanceMicros !== 0) {
          statements.push(db.insert(costLedger).values({ userId: user.id, kind: "credit", deltaMicros: user.balanceMicros, createdAt: at }));
        }
        return statements;
      });
    } catch (error) {
      if (await this.findUser(user.id)) return { created: false, reason: "id-taken" };
      throw error;
    }
    return { created: true, user: { ...user, modelIds, createdAt: at } };
  }

  async getUserWithModels(userId: string): Promise<UserWithModels | null> {
    const { users, userModels } = this.t;
    const [userRows, grantRows] = await this.engine.readTogether((db) => [
      db.select({ ...this.userColumns(), createdAt: users.createdAt }).from(users).where(eq(users.id, userId)).limit(1),
      db.select({ modelId: userModels.modelId }).from(userModels).where(eq(userModels.userId, userId)).orderBy(asc(userModels.modelId)),
    ]);
    const user = userRows[0];
    return user ? { ...user, modelIds: grantRows.map((g) => g.modelId) } : null;
  }

  async listUsers({ limit, after, nameContains }: UserPageQuery): Promise<UserWithModels[]> {
    const { users, userModels } = this.t;
    const afterPosition = after
      ? or(gt(users.createdAt, after.createdAt), and(eq(users.createdAt, after.createdAt), gt(users.id, after.id)))
      : undefined;
    // lower() on both sides: SQLite's lower() folds ASCII letters only, so the match ignores ASCII case alone.
    const nameMatch = nameContains ? sql`lower(${users.username}) like ${likeContaining(nameContains.toLowerCase())} escape '\\'` : undefined;
    const rows = await this.db
      .select({ ...this.userColumns(), createdAt: users.createdAt })
      .from(users)
      .where(and(afterPosition, nameMatch))
      .orderBy(asc(users.createdAt), asc(users.id))
      .limit(limit);
    if (rows.length === 0) return [];
    const grants = await this.db
      .select({ userId: userModels.userId, modelId: userModels.modelId })
      .from(userModels)
      .where(inArray(userModels.userId, rows.map((r) => r.id)))
      .orderBy(asc(userModels.modelId));
    return rows.map((user) => ({ ...user, modelIds: grants.filter((g) => g.userId === user.id).map((g) => g.modelId) }));
  }

  listLedger(userId: string, limit: number, after: LedgerPosition | null): Promise<LedgerEntry[]> {
    const { costLedger } = this.t;
    const afterPosition = after
      ? or(lt(costLedger.createdAt, after.createdAt), and(eq(costLedger.createdAt, after.createdAt), lt(costLedger.id, after.id)))
      : undefined;
    return this.db
      .select()
      .from(costLedger)
      .where(and(eq(costLedger.userId, userId), afterPosition))
      .orderBy(desc(costLedger.createdAt), desc(costLedger.id))
      .limit(limit);
  }

  async updateUser(userId: string, changes: UserChanges, at: number): Promise<UserWithModels | null> {
    const { users, userModels } = this.t;
    if (!(await this.findUser(userId))) return null;
    const { setBalanceMicros, addBalanceMicros } = changes;
    const balance = setBalanceMicros !== undefined ? setting(setBalanceMicros, at) : addBalanceMicros !== undefined ? addition(addBalanceMicros, at) : null;
    const build = (db: StoreDb) => {
      const statements: Statements[number][] = [];
      if (balance) statements.push(...balanceWrite(db, this.t, userId, balance, this.engine));
      if (changes.username !== undefined) {
        statements.push(db.update(users).set({ username: changes.username }).where(eq(users.id, userId)));
      }
      if (changes.modelIds !== undefined) {
        statements.push(db.delete(userModels).where(eq(userModels.userId, userId)));
        const grants = [...new Set(changes.modelIds)].map((modelId) => ({ userId, modelId }));
        if (grants.length > 0) statements.push(db.insert(userModels).values(grants));
      }
      return statements;
    };
    const changesSomething = Object.values(changes).some((value) => value !== undefined);
    try {
      if (changesSomething) await this.engine.atomic((db) => build(db) as unknown as Statements);
    } catch (error) {
      // An addition out of bounds fails the whole write (balance-change.ts): say so when that is why.
      if (addBalanceMicros !== undefined) {
        const now = await this.findUser(userId);
        if (now && !balanceInBounds(now.balanceMicros + addBalanceMicros)) throw new BalanceOutOfBounds(now.balanceMicros, addBalanceMicros);
      }
      throw error;
    }
    return this.getUserWithModels(userId);
  }

  private userColumns() {
    const { users } = this.t;
    return { id: users.id, username: users.username, balanceMicros: users.balanceMicros };
  }

  private modelColumns() {
    const { models } = this.t;
    return {
      id: models.id,
      name: models.name,
      provider: models.provider,
      contextLength: models.contextLength,
      inputMicrosPer1k: models.inputMicrosPer1k,
      outputMicrosPer1k: models.outputMicrosPer1k,
    };
  }

  private catalogColumns() {
    return { ...this.modelColumns(), retiredAt: this.t.models.retiredAt };
  }

  async createApiKey(key: ApiKeyRecord): Promise<void> {
    await this.db.insert(this.t.apiKeys).values(key);
  }

  async findApiKey(keyId: string): Promise<ApiKeyRecord | null> {
    const { apiKeys } = this.t;
    const rows = await this.db.select().from(apiKeys).where(eq(apiKeys.id, keyId)).limit(1);
    return rows[0] ?? null;
  }

  listApiKeys(userId: string): Promise<ApiKeyRecord[]> {
    const { apiKeys } = this.t;
    return this.db.select().from(apiKeys).where(eq(apiKeys.userId, userId)).orderBy(asc(apiKeys.createdAt), asc(apiKeys.id));
  }

  async revokeApiKey(userId: string, keyId: string, at: number): Promise<boolean> {
    const { apiKeys } = this.t;
    const key = await this.findApiKey(keyId);
    if (!key || key.userId !== userId) return false;
    if (key.revokedAt === null) await this.db.update(apiKeys).set({ revokedAt: at }).where(eq(apiKeys.id, keyId));
    return true;
  }
}

/** A LIKE pattern matching any text that contains `text` literally: its %, _ and backslashes escaped with a backslash. */
function likeContaining(text: string): string {
  return `%${text.replace(/[\\%_]/g, "\\$&")}%`;
}

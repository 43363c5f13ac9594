// Owns the ChatStore over D1 with drizzle: every read and write of the domain, each turn one atomic batch.
import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import type { BatchItem } from "drizzle-orm/batch";
import type {
  ChatStore,
  FileRecord,
  HistoryEntry,
  ModelRecord,
  ModelRef,
  NewUser,
  SessionListItem,
  SessionRecord,
  StoredSessionContext,
  SummaryCommit,
  TurnAuthorization,
  TurnCommit,
  UserChanges,
  UserRecord,
  UserWithModels,
} from "./chat-store";
import { UserExistsError } from "./chat-store";
import * as schema from "./schema";
import { costLedger, files, messages, models, sessions, userModels, users } from "./schema";

type Db = DrizzleD1Database<typeof schema>;

const userColumns = { id: users.id, username: users.username, balanceMicros: users.balanceMicros };
const historyColumns = { role: messages.role, content: messages.content };

export class D1ChatStore implements ChatStore {
  private readonly db: Db;

  constructor(binding: D1Database) {
    this.db = drizzle(binding, { schema });
  }

  async findUser(userId: string): Promise<UserRecord | null> {
    const rows = await this.db.select(userColumns).from(users).where(eq(users.id, userId)).limit(1);
    return rows[0] ?? null;
  }

  listGrantedModels(userId: string): Promise<ModelRecord[]> {
    return this.db
      .select(modelColumns())
      .from(userModels)
      .innerJoin(models, eq(models.id, userModels.modelId))
      .where(eq(userModels.userId, userId))
      .orderBy(asc(models.id));
  }

  async authorizeTurn(userId: string, model: ModelRef): Promise<TurnAuthorization | null> {
    const modelMatch = "id" in model ? eq(models.id, model.id) : eq(models.name, model.name);
    const rows = await this.db
      .select({ balanceMicros: users.balanceMicros, model: modelColumns(), grantedModel: userModels.modelId })
      .from(users)
      .leftJoin(models, modelMatch)
      .leftJoin(userModels, and(eq(userModels.userId, users.id), eq(userModels.modelId, models.id)))
      .where(eq(users.id, userId))
      .limit(1);
    const row = rows[0];
    if (!row) return null;
    return { balanceMicros: row.balanceMicros, model: row.model, granted: row.grantedModel !== null };
  }

  async findModelByName(name: string): Promise<ModelRecord | null> {
    const rows = await this.db.select(modelColumns()).from(models).where(eq(models.name, name)).limit(1);
    return rows[0] ?? null;
  }

  findModelsById(ids: number[]): Promise<ModelRecord[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.select(modelColumns()).from(models).where(inArray(models.id, ids)).orderBy(asc(models.id));
  }

  listSessions(userId: string): Promise<SessionListItem[]> {
    return this.db
      .select({ id: sessions.id, name: sessions.name })
      .from(sessions)
      .where(eq(sessions.userId, userId))
      .orderBy(desc(sessions.lastActiveAt), desc(sessions.createdAt));
  }

  async findSession(sessionId: string): Promise<SessionRecord | null> {
    const rows = await this.db.select().from(sessions).where(eq(sessions.id, sessionId)).limit(1);
    return rows[0] ?? null;
  }

  async loadSessionContext(sessionId: string, historyLimit: number): Promise<StoredSessionContext | null> {
    // The newest entries come from the (session_id, seq) primary key, so the cost does not grow with history.
    const [sessionRows, newestFirst, sessionFiles] = await this.db.batch([
      this.db.select().from(sessions).where(eq(sessions.id, sessionId)).limit(1),
      this.db
        .select({ ...historyColumns, seq: messages.seq })
        .from(messages)
        .where(eq(messages.sessionId, sessionId))
        .orderBy(desc(messages.seq))
        .limit(historyLimit),
      this.db.select().from(files).where(eq(files.sessionId, sessionId)).orderBy(asc(files.createdAt)),
    ]);
    const session = sessionRows[0];
    if (!session) return null;
    const nextSeq = newestFirst.length > 0 ? newestFirst[0]!.seq + 1 : 0;
    const recentHistory = newestFirst.reverse().map(({ role, content }) => ({ role, content }));
    return { session, recentHistory, nextSeq, files: sessionFiles };
  }

  readHistory(sessionId: string): Promise<HistoryEntry[]> {
    return this.db
      .select(historyColumns)
      .from(messages)
      .where(eq(messages.sessionId, sessionId))
      .orderBy(asc(messages.seq));
  }

  async commitTurn(commit: TurnCommit): Promise<{ balanceMicros: number }> {
    const { session, at } = commit;
    const writeSession = commit.isNew
      ? this.db.insert(sessions).values(session)
      : this.db
          .update(sessions)
          .set({ modelId: session.modelId, prompt: session.prompt, lastActiveAt: session.lastActiveAt })
          .where(eq(sessions.id, session.id));
    const rows = commit.entries.map((entry, i) => ({
      sessionId: session.id,
      seq: commit.firstSeq + i,
      role: entry.role,
      content: entry.content,
      createdAt: at,
    }));
    const results = await this.db.batch([
      writeSession,
      this.db.insert(messages).values(rows),
      ...this.chargeStatements(session.userId, session.id, "turn", commit.chargeMicros, at),
    ]);
    const debited = results[2] as { balanceMicros: number }[];
    return { balanceMicros: debited[0]?.balanceMicros ?? 0 };
  }

  async commitSummary(commit: SummaryCommit): Promise<void> {
    await this.db.batch([
      this.db.update(sessions).set({ summary: commit.summary }).where(eq(sessions.id, commit.sessionId)),
      ...this.chargeStatements(commit.userId, commit.sessionId, "summary", commit.chargeMicros, commit.at),
    ]);
  }

  async deleteSession(sessionId: string): Promise<void> {
    // Messages and file rows go with the session through ON DELETE CASCADE.
    await this.db.delete(sessions).where(eq(sessions.id, sessionId));
  }

  async registerFile(file: FileRecord, newSession: SessionRecord | null): Promise<void> {
    const insertFile = this.db.insert(files).values(file);
    if (newSession) await this.db.batch([this.db.insert(sessions).values(newSession), insertFile]);
    else await insertFile;
  }

  async findFile(fileName: string): Promise<FileRecord | null> {
    const rows = await this.db.select().from(files).where(eq(files.fileName, fileName)).limit(1);
    return rows[0] ?? null;
  }

  listSessionFiles(sessionId: string): Promise<FileRecord[]> {
    return this.db.select().from(files).where(eq(files.sessionId, sessionId)).orderBy(asc(files.createdAt));
  }

  async createUser(user: NewUser, at: number): Promise<UserWithModels> {
    const grants = user.modelIds.map((modelId) => ({ userId: user.id, modelId }));
    const statements: [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]] = [
      this.db.insert(users).values({ id: user.id, username: user.username, balanceMicros: user.balanceMicros, createdAt: at }),
    ];
    if (grants.length > 0) statements.push(this.db.insert(userModels).values(grants));
    if (user.balanceMicros !== 0) {
      statements.push(this.db.insert(costLedger).values({ userId: user.id, kind: "credit", deltaMicros: user.balanceMicros, createdAt: at }));
    }
    try {
      await this.db.batch(statements);
    } catch (error) {
      if (await this.findUser(user.id)) throw new UserExistsError(user.id);
      throw error;
    }
    return { ...user, modelIds: [...new Set(user.modelIds)].sort((a, b) => a - b), createdAt: at };
  }

  async getUserWithModels(userId: string): Promise<UserWithModels | null> {
    const [userRows, grantRows] = await this.db.batch([
      this.db.select({ ...userColumns, createdAt: users.createdAt }).from(users).where(eq(users.id, userId)).limit(1),
      this.db.select({ modelId: userModels.modelId }).from(userModels).where(eq(userModels.userId, userId)).orderBy(asc(userModels.modelId)),
    ]);
    const user = userRows[0];
    return user ? { ...user, modelIds: grantRows.map((g) => g.modelId) } : null;
  }

  async updateUser(userId: string, changes: UserChanges, at: number): Promise<UserWithModels | null> {
    if (!(await this.findUser(userId))) return null;
    const statements: BatchItem<"sqlite">[] = [];
    if (changes.username !== undefined) {
      statements.push(this.db.update(users).set({ username: changes.username }).where(eq(users.id, userId)));
    }
    if (changes.setBalanceMicros !== undefined) {
      // The ledger row records the difference, computed by the database in the same batch.
      const target = changes.setBalanceMicros;
      statements.push(
        this.db.insert(costLedger).select(
          this.db
            .select({
              id: sql<number>`null`.as("id"),
              userId: users.id,
              sessionId: sql<string | null>`null`.as("session_id"),
              kind: sql<"adjustment">`'adjustment'`.as("kind"),
              deltaMicros: sql<number>`${target} - ${users.balanceMicros}`.as("delta_micros"),
              createdAt: sql<number>`${at}`.as("created_at"),
            })
            .from(users)
            .where(eq(users.id, userId)),
        ),
        this.db.update(users).set({ balanceMicros: target }).where(eq(users.id, userId)),
      );
    }
    if (changes.addBalanceMicros !== undefined) {
      statements.push(...this.chargeStatements(userId, null, "credit", -changes.addBalanceMicros, at));
    }
    if (changes.modelIds !== undefined) {
      statements.push(this.db.delete(userModels).where(eq(userModels.userId, userId)));
      const grants = changes.modelIds.map((modelId) => ({ userId, modelId }));
      if (grants.length > 0) statements.push(this.db.insert(userModels).values(grants).onConflictDoNothing());
    }
    const [first, ...rest] = statements;
    if (first) await this.db.batch([first, ...rest]);
    return this.getUserWithModels(userId);
  }

  /** A relative debit (never read-modify-write) and its ledger row; the update returns the new balance. */
  private chargeStatements(
    userId: string,
    sessionId: string | null,
    kind: (typeof schema.ledgerKinds)[number],
    chargeMicros: number,
    at: number,
  ) {
    return [
      this.db
        .update(users)
        .set({ balanceMicros: sql`${users.balanceMicros} - ${chargeMicros}` })
        .where(eq(users.id, userId))
        .returning({ balanceMicros: users.balanceMicros }),
      this.db.insert(costLedger).values({ userId, sessionId, kind, deltaMicros: -chargeMicros, createdAt: at }),
    ] as const;
  }
}

function modelColumns() {
  return {
    id: models.id,
    name: models.name,
    provider: models.provider,
    contextLength: models.contextLength,
    inputMicrosPer1k: models.inputMicrosPer1k,
    outputMicrosPer1k: models.outputMicrosPer1k,
  };
}

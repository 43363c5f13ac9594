// Owns one chat session (a Durable Object per session): its live context and the strict order of its turns.
import { DurableObject } from "cloudflare:workers";
import { chunked } from "../chunked";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { createAgentClient, type AgentClient } from "../agent/agent-client";
import { readConfig, type Config } from "../config";
import type { ChatStore, FileRecord, HistoryEntry, ModelRecord, ModelRef, SessionRecord } from "../storage/chat-store";
import { openStore } from "../storage/open-store";
import { ChatError, ErrorCode, failureOf, type Outcome } from "./errors";
import { signedFileUrl } from "./file-urls";
import type { ChatEvent } from "../events/chat-event";
import { createEventMirror } from "../events/redis-mirror";
import { TurnOutbox } from "./turn-outbox";
import { PendingWrites } from "./pending-writes";
import { AccountCache } from "./account-cache";
import { requireModelAccess } from "./accounts";
import { chargeFromReportedCost, microsToDollars } from "./money";
import { sessionNameFrom } from "./session-name";
import { summarizeTurn, type SummaryResult } from "./summaries";

export interface TurnRequest {
  userId: string;
  sessionId: string;
  isNew: boolean;
  /** null: keep the session's model. */
  model: ModelRef | null;
  message: string;
  /** Empty: keep the session's prompt. */
  sessionPrompt: string;
  /** The stored name of a file of this session attached to this turn. */
  fileName: string | null;
  /** Origin for absolute file URLs when PUBLIC_BASE_URL is not set (the one the client connected to). */
  requestOrigin: string;
}

/** R2 deletes at most 1,000 keys a call. */
const R2_DELETE_BATCH = 1000;

export interface TurnReply {
  sessionId: string;
  sessionName: string;
  message: string;
}

interface LiveContext {
  session: SessionRecord;
  /** The newest MAX_CHAT_HISTORY_CONTEXT entries, oldest first. */
  recent: HistoryEntry[];
  nextSeq: number;
  files: FileRecord[];
}

interface AnsweredTurn {
  reply: TurnReply;
  /** Runs after the reply is sent and before the next turn starts. */
  afterReply: () => Promise<void>;
}

export class ChatSession extends DurableObject<Env> {
  private live: LiveContext | null = null;
  private queueTail: Promise<void> = Promise.resolve();
  private writeBehindTail: Promise<void> = Promise.resolve();
  private agentClient: AgentClient | null = null;
  private store: ChatStore | null = null;
  private turnOutbox: TurnOutbox | null | undefined;
  private readonly account = new AccountCache(readConfig(this.env).ACCOUNT_CACHE_TTL_MS);
  private readonly writes = new PendingWrites(this.ctx.storage, () => this.chatStore(), {
    windowMs: readConfig(this.env).STORE_BATCH_WINDOW_MS,
    retryMs: readConfig(this.env).STORE_RETRY_MS,
  });

  /** The user's account changed (admin API): the next turn reads it again. */
  accountChanged(): void {
    this.account.invalidate();
  }

  /** The outbox of chat events, or null when the Redis mirror is off. */
  private outbox(): TurnOutbox | null {
    if (this.turnOutbox === undefined) {
      const config = readConfig(this.env);
      const mirror = createEventMirror(config);
      this.turnOutbox = mirror && new TurnOutbox(this.ctx.storage, mirror, config.MIRROR_RETRY_MS);
    }
    return this.turnOutbox;
  }

  /** Resolves true once the database has every write of this session's answered turns; false when it refused them. */
  settled(): Promise<boolean> {
    return this.writes.settle().then(
      () => true,
      () => false, // logged by the writes themselves; the alarm retries them
    );
  }

  /** Retries writes the database did not take, then chat events not mirrored yet, in order with this session's turns. */
  override alarm(): Promise<void> {
    return new Promise((resolve) => {
      this.enqueue(async () => {
        try {
          // With no turn running and nothing left behind, any staged event is a leftover of a dead instance.
          await this.writeBehindTail;
          // A staged event is resolved against the database, so its turn must be there first.
          await this.writes.settle();
          await this.outbox()?.flush(this.chatStore());
        } finally {
          resolve();
        }
      });
    });
  }

  /** One store for the object's lifetime: no per-turn connection setup. */
  private chatStore(): ChatStore {
    return (this.store ??= openStore(this.env));
  }

  /** Answers one chat message. Turns of this session run one at a time, in arrival order. */
  turn(request: TurnRequest): Promise<Outcome<TurnReply>> {
    return new Promise((resolve) => {
      this.enqueue(async () => {
        let answered: AnsweredTurn;
        try {
          answered = await this.answer(request);
        } catch (error) {
          resolve({ ok: false, failure: logged(failureOf(error, ErrorCode.InternalServerError), error) });
          return;
        }
        resolve({ ok: true, value: answered.reply });
        await answered.afterReply();
      });
    });
  }

  /** Deletes the session, its history and its files (R2 objects first), after any turn in progress. */
  remove(userId: string, sessionId: string): Promise<Outcome<null>> {
    return this.run(ErrorCode.UnableToDeleteSession, async () => {
      // Charges of earlier turns stay on the ledger even when their session goes.
      await this.writes.settle();
      const store = this.chatStore();
      const session = this.live?.session ?? (await store.findSession(sessionId));
      if (!session || session.userId !== userId) throw new ChatError(ErrorCode.SessionNotFound);
      const keys = (await store.listSessionFiles(sessionId)).map((file) => file.r2Key);
      for (const batch of chunked(keys, R2_DELETE_BATCH)) await this.env.FILES.delete(batch);
      await store.deleteSession(sessionId);
      this.live = null;
      return null;
    });
  }

  /** Records an uploaded file (creating the session when the upload started it), in order with the turns. */
  registerFile(file: FileRecord, newSession: SessionRecord | null): Promise<Outcome<null>> {
    return this.run(ErrorCode.InternalServerError, async () => {
      await this.writes.settle(); // the session row may still be in the journal
      await this.chatStore().registerFile(file, newSession);
      this.live?.files.push(file);
      return null;
    });
  }

  /** Runs work in this session's queue and returns its result as data (errors keep their code). */
  private run<T>(fallback: ErrorCode, work: () => Promise<T>): Promise<Outcome<T>> {
    return new Promise((resolve) => {
      this.enqueue(async () => {
        try {
          resolve({ ok: true, value: await work() });
        } catch (error) {
          resolve({ ok: false, failure: logged(failureOf(error, fallback), error) });
        }
      });
    });
  }

  /** Work after a turn that later turns need not wait for (storing its summary, mirroring it), kept in order. */
  private writeBehind(work: () => Promise<void>): void {
    this.writeBehindTail = this.writeBehindTail.then(work).catch((error: unknown) => console.error("write-behind task failed", error));
    this.ctx.waitUntil(this.writeBehindTail);
  }

  private enqueue(work: () => Promise<void>): void {
    const run = this.queueTail.then(work);
    this.queueTail = run.catch((error: unknown) => console.error("session queue task failed", error));
    this.ctx.waitUntil(this.queueTail);
  }

  private async answer(request: TurnRequest): Promise<AnsweredTurn> {
    const config = readConfig(this.env);
    const store = this.chatStore();
    const live = request.isNew ? null : await this.loadLive(store, request.sessionId, config);
    if (live && live.session.userId !== request.userId) throw new ChatError(ErrorCode.SessionNotFound);

    const file = request.fileName ? live?.files.find((f) => f.fileName === request.fileName) : undefined;
    if (request.fileName && !file) {
      throw new ChatError(ErrorCode.FileNotFound, `File not found in this session: ${request.fileName}`);
    }

    const modelRef = request.model ?? (live ? { id: live.session.modelId } : null);
    if (!modelRef) {
      throw new ChatError(ErrorCode.InvalidField, 'Invalid field "data.model_name": a new session needs model_name or model_id');
    }
    const readAccount = async (ref: ModelRef) => {
      await this.writes.settle(); // the database's balance must include this session's journaled charges
      return store.authorizeTurn(request.userId, ref);
    };
    const auth = requireModelAccess(await this.account.authorize(readAccount, modelRef, Date.now()), modelRef);
    if (auth.balanceMicros <= 0) throw new ChatError(ErrorCode.InsufficientBalance);
    const { model } = auth;

    const prompt = request.sessionPrompt || live?.session.prompt || "";
    const summary = live?.session.summary ?? "";
    const history = live?.recent ?? [];
    const fileUrls = file ? [await this.fileUrl(config, file, request.requestOrigin)] : [];
    const replyText = await this.askAgent(config, {
      userId: request.userId,
      sessionId: request.sessionId,
      chatMessage: request.message,
      modelName: model.name,
      modelProvider: model.provider,
      sessionPrompt: prompt,
      fileName: fileUrls,
      chatSummary: summary,
      chatHistory: JSON.stringify(history),
      balance: microsToDollars(auth.balanceMicros),
      timestamp: timestampNow(),
    });

    const now = Date.now();
    const session: SessionRecord = live
      ? { ...live.session, modelId: model.id, prompt, lastActiveAt: now }
      : {
          id: request.sessionId,
          userId: request.userId,
          modelId: model.id,
          name: sessionNameFrom(request.message, config.SESSION_NAME_MAX_CHARS),
          prompt,
          summary: "",
          createdAt: now,
          lastActiveAt: now,
        };
    const entries: HistoryEntry[] = [
      { role: "user", content: request.message },
      { role: "assistant", content: replyText.text },
      ...(file ? [{ role: "file" as const, content: file.fileName }] : []),
    ];
    const firstSeq = live?.nextSeq ?? 0;
    const event: ChatEvent = {
      userId: session.userId,
      sessionId: session.id,
      sessionPrompt: prompt,
      modelId: model.id,
      chats: entries,
      chatsSummary: summary,
      sessionName: session.name,
      isNew: firstSeq === 0,
      balanceMicros: auth.balanceMicros - replyText.chargeMicros,
    };
    const outbox = await this.stageEvent(event, firstSeq);
    let committed: Promise<number>;
    try {
      // Durable in this object's storage before the reply; the database gets it behind the reply.
      ({ committed } = await this.writes.add(
        { kind: "turn", turn: { session, isNew: !live, entries, firstSeq, chargeMicros: replyText.chargeMicros, at: now } },
        { durable: true },
      ));
    } catch (error) {
      await outbox?.drop(session.id, firstSeq);
      throw new ChatError(live ? ErrorCode.InternalServerError : ErrorCode.UnableToCreateSession, undefined, error);
    }
    this.account.debit(replyText.chargeMicros);
    void committed.then((balance) => this.balanceCommitted(balance));
    const updated: LiveContext = {
      session,
      recent: [...history, ...entries].slice(-config.MAX_CHAT_HISTORY_CONTEXT),
      nextSeq: firstSeq + entries.length,
      files: live?.files ?? [],
    };
    this.live = updated;

    return {
      reply: { sessionId: session.id, sessionName: session.name, message: replyText.text },
      afterReply: async () => {
        const summary = await this.nextSummary(session, model, request.message, replyText.text);
        // A new record: the journaled turn keeps the session as it was when the turn was answered.
        if (summary && this.live === updated) this.live = { ...updated, session: { ...session, summary: summary.summary } };
        const summaryCommitted = summary ? await this.storeSummary(session, summary) : null;
        if (!outbox) return;
        // Mirroring waits for the database to have the turn and its summary; the next turn need not wait for it.
        this.writeBehind(async () => {
          const balanceMicros = await (summaryCommitted?.committed ?? committed);
          const final = { ...event, chatsSummary: summary?.summary ?? event.chatsSummary, balanceMicros: Number.isNaN(balanceMicros) ? event.balanceMicros : balanceMicros };
          await outbox.publish(final, firstSeq).catch((error: unknown) => console.error("chat event not staged for publishing", error));
        });
      },
    };
  }

  /** Stages the turn's event before it commits; a mirror problem never fails the turn. */
  private async stageEvent(event: ChatEvent, firstSeq: number): Promise<TurnOutbox | null> {
    const outbox = this.outbox();
    if (!outbox) return null;
    try {
      await outbox.stage(event, firstSeq);
      return outbox;
    } catch (error) {
      console.error(`chat event of session ${event.sessionId} not staged`, error);
      return null;
    }
  }

  private async fileUrl(config: Config, file: FileRecord, requestOrigin: string): Promise<string> {
    if (!config.FILE_URL_SECRET) {
      throw new ChatError(ErrorCode.InternalServerError, "File URLs are not configured: set the FILE_URL_SECRET secret");
    }
    const base = config.PUBLIC_BASE_URL || requestOrigin;
    return signedFileUrl(base, file.fileName, config.FILE_URL_SECRET, config.FILE_URL_TTL, Date.now());
  }

  private async askAgent(
    config: Config,
    request: Parameters<AgentClient["process"]>[0],
  ): Promise<{ text: string; chargeMicros: number }> {
    this.agentClient ??= createAgentClient(agentEndpoint(this.env, config));
    try {
      const response = await this.agentClient.process(request, { timeoutMs: config.AI_TIMEOUT_MS });
      return { text: response.responseText, chargeMicros: chargeFromReportedCost(response.cost) };
    } catch (error) {
      throw new ChatError(ErrorCode.UnableToReceiveResponse, undefined, error);
    }
  }

  /** The summary after a turn (the next turn needs it), or null when there is none; storing it comes later. */
  private async nextSummary(
    session: SessionRecord,
    model: ModelRecord,
    userMessage: string,
    assistantMessage: string,
  ): Promise<SummaryResult | null> {
    const config = readConfig(this.env);
    try {
      return await summarizeTurn(
        { userId: session.userId, sessionId: session.id, model, previousSummary: session.summary, userMessage, assistantMessage },
        this.agentClient ?? createAgentClient(agentEndpoint(this.env, config)),
        config,
        this.chatStore(),
      );
    } catch (error) {
      console.error(`summary of session ${session.id} not updated`, error);
      return null;
    }
  }

  /** Journals a summary and its charge; the promise resolves with the balance once the database has it. */
  private async storeSummary(session: SessionRecord, result: SummaryResult): Promise<{ committed: Promise<number> } | null> {
    try {
      // Not stored on its own: it goes with the next turn's journal entry or its batch (a crash in between loses
      // this summary and its charge, never a turn). One storage commit per turn instead of two.
      const { committed } = await this.writes.add(
        { kind: "summary", summary: { sessionId: session.id, userId: session.userId, summary: result.summary, chargeMicros: result.chargeMicros, at: Date.now() } },
        { durable: false },
      );
      this.account.debit(result.chargeMicros);
      void committed.then((balance) => this.balanceCommitted(balance));
      return { committed }; // wrapped: returning the promise itself would make the caller wait for the commit
    } catch (error) {
      console.error(`summary of session ${session.id} not stored`, error);
      return null;
    }
  }

  /** The database's balance after one of this session's writes; the charges still journaled come off it. */
  private balanceCommitted(balanceMicros: number): void {
    if (Number.isNaN(balanceMicros)) this.account.invalidate();
    else this.account.charged(balanceMicros - this.writes.uncommittedChargeMicros());
  }


  private async loadLive(store: ChatStore, sessionId: string, config: Config): Promise<LiveContext> {
    if (this.live) return this.live;
    let stored;
    try {
      await this.writes.settle(); // an earlier instance may have left journaled writes
      stored = await store.loadSessionContext(sessionId, config.MAX_CHAT_HISTORY_CONTEXT);
    } catch (error) {
      throw new ChatError(ErrorCode.UnableToLoadSession, undefined, error);
    }
    if (!stored) throw new ChatError(ErrorCode.SessionNotFound);
    this.live = { session: stored.session, recent: stored.recentHistory, nextSeq: stored.nextSeq, files: stored.files };
    return this.live;
  }
}

function agentEndpoint(env: Env, config: Config) {
  // The AGENT binding is optional: wrangler.toml may drop it to reach an agent over the network.
  const { AGENT } = env as { AGENT?: Fetcher };
  return { baseUrl: config.AI_SERVER_URL, protocol: config.AI_PROTOCOL, binding: AGENT };
}

function logged<T extends { code: number }>(failure: T, error: unknown): T {
  if (!(error instanceof ChatError) || error.cause !== undefined) console.error(`turn failed with code ${failure.code}`, error);
  return failure;
}

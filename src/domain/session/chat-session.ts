// Owns the Durable Object surface of one chat session (an object per session): its RPC methods and its one alarm.
// Turns, uploads and deletes run in the session's queue, one at a time, in arrival order; watching, resuming and
// cancelling a live turn do not wait in it.
import { DurableObject } from "cloudflare:workers";
import { createAgentClient } from "../../agent/agent-client";
import { configOf } from "../../config";
import { createEventMirror } from "../../events/redis-mirror";
import type { FileRecord, SessionWrite } from "../../storage/chat-store";
import { openStore } from "../../storage/open-store";
import { CreditLease, type LeaseAccount } from "../accounts/credit-lease";
import type { LeaseState, Lent } from "../accounts/spendable";
import { accountObject, type UserAccount } from "../accounts/user-account";
import { ChatError, ErrorCode, outcomeOf, TURN_FAILURE, unwrap, type Outcome } from "../errors";
import { SerialQueue } from "../serial-queue";
import { AnswerLog } from "./answer-log";
import { Journal } from "./journal";
import { LiveSession } from "./live-context";
import { TurnOutbox } from "./outbox";
import { acceptUpload, removeSession, type FileParts, type SessionUpload } from "./session-files";
import { forgetSessionStorage, SESSION_STORAGE } from "./session-storage";
import { runTurn, type TurnParts, type TurnReply, type TurnRequest } from "./turn";
import { requireSessionOwner } from "./session-record";
import { SessionAlarm } from "./wake-up";
import { LiveTurns, type Resumed } from "./live-turns";
import { StreamLog } from "./stream-log";
import { Watchers, type HubLink } from "./watchers";

export type { SessionUpload } from "./session-files";
export type { TurnReply, TurnRequest } from "./turn";

/** A call's request as it reaches the session's object, which knows its own id (its name). */
export type ToSession<T extends { sessionId: string }> = Omit<T, "sessionId">;

export class ChatSession extends DurableObject<Env> {
  private readonly config = configOf(this.env);
  private readonly queue = new SerialQueue((done) => this.ctx.waitUntil(done));
  private readonly alarmClock = new SessionAlarm(this.ctx.storage);
  private readonly live = new LiveSession(this.config.MAX_CHAT_HISTORY_CONTEXT);
  private readonly answers = new AnswerLog<TurnReply>(this.ctx.storage, this.alarmClock.wakeUp, this.config.IDEMPOTENCY_WINDOW_S * 1000);
  private readonly journal = new Journal(
    this.ctx.storage,
    () => this.parts().store,
    this.alarmClock.wakeUp,
    { windowMs: this.config.STORE_BATCH_WINDOW_MS, retryMs: this.config.STORE_RETRY_MS },
    (writes, balanceAfterMicros) => this.lease.committed(chargesOf(writes), balanceAfterMicros),
  );
  private readonly lease = new CreditLease(
    this.ctx.storage,
    this.journal.charges,
    this.leaseAccount(),
    { budget: { maxOutputTokens: this.config.MAX_OUTPUT_TOKENS, maxTurnCostMicros: this.config.maxTurnCostMicros }, maxInFlight: this.config.MAX_TURNS_IN_FLIGHT_PER_USER, grantTtlMs: this.config.ACCOUNT_CACHE_TTL_MS },
    (work) => this.ctx.waitUntil(work),
    this.alarmClock.wakeUp,
  );
  private readonly outbox =
    this.config.mirror &&
    new TurnOutbox(this.ctx.storage, createEventMirror(this.config.mirror), this.alarmClock.wakeUp, this.config.mirror.retryMs, (done) =>
      this.ctx.waitUntil(done),
    );
  private readonly liveTurns = new LiveTurns(
    new StreamLog(this.ctx.storage, this.alarmClock.wakeUp, {
      retainMs: this.config.STREAM_RETAIN_S * 1000,
      longestTurnMs: this.config.AI_TURN_TIMEOUT_MS + this.config.AI_TIMEOUT_MS,
    }),
    new Watchers(this.ctx.storage, this.hubLink()),
  );
  private turnParts: TurnParts & FileParts | null = null;
  private readonly accounts = new Map<string, DurableObjectStub<UserAccount>>();
  /** Whether this instance has stored its name (once per instance); the name as stored, once read. */
  private nameStored = false;
  private storedName: Promise<string | undefined> | null = null;

  /** Answers one chat message. */
  turn(request: ToSession<TurnRequest>): Promise<Outcome<TurnReply>> {
    return outcomeOf(
      this.queue.answerEarly<TurnReply>(async (respond) => {
        const sessionId = await this.sessionId();
        this.lease.identify(sessionId);
        return runTurn({ ...request, sessionId }, this.parts(), respond);
      }),
      TURN_FAILURE,
    );
  }

  /** Accepts an upload into this session, or creates the session with it. */
  upload(upload: ToSession<SessionUpload>): Promise<Outcome<FileRecord>> {
    return outcomeOf(
      this.queue.run(async () => acceptUpload({ ...upload, sessionId: await this.sessionId() }, this.parts())),
      ErrorCode.InternalServerError,
    );
  }

  /** The connection hub `hubId` gets this session's turn events from now on (a v2 socket read its history). */
  watch(hubId: string): Promise<void> {
    return this.liveTurns.watch(hubId);
  }

  /** Where a turn of this session stands, with the events that bring a client up to date after `afterSeq`. */
  resume(userId: string, turn: number, afterSeq: number, hubId: string): Promise<Outcome<Resumed>> {
    return outcomeOf(
      this.sessionId().then((sessionId) => this.liveTurns.resume(userId, sessionId, turn, afterSeq, hubId, () => this.checkOwner(userId))),
      ErrorCode.InternalServerError,
    );
  }

  /** Cancels the running turn and answers its number once it has ended; with none running, 110 for the user's
   *  session and 101 for a session that is not (or no longer) theirs. */
  cancel(userId: string): Promise<Outcome<number>> {
    return outcomeOf(
      this.liveTurns.cancel(userId).catch(async (error: unknown) => {
        if (error instanceof ChatError && error.code === ErrorCode.NoRunningTurn && !this.liveTurns.runsFor(userId)) await this.checkOwner(userId);
        throw error;
      }),
      ErrorCode.InternalServerError,
    );
  }

  /** Throws 101 unless the session exists and is the user's. */
  private async checkOwner(userId: string): Promise<void> {
    const context = await this.live.load(this.parts().store, await this.sessionId(), () => this.journal.settle());
    requireSessionOwner(context.session.userId, userId);
  }

  /** The user's account wants this session's unused money back (credit-lease.ts); not queued behind a turn, which
   *  may itself be waiting for the account. */
  async recallLease(userId: string, lent: Lent): Promise<LeaseState> {
    return this.lease.recall(userId, await this.sessionId(), lent);
  }

  /** Deletes the session, after any turn in progress: its history and files (rows and R2 objects), then all this
   *  object keeps of it (answers, journal, outbox, stream records, watchers, counters, alarm): its storage is empty. */
  remove(userId: string): Promise<Outcome<null>> {
    return outcomeOf(
      this.queue.run(async () => {
        const sessionId = await this.sessionId();
        await removeSession(userId, sessionId, this.parts());
        // A turn's event may still be on its way to the mirror; nothing of it may be written after the storage goes.
        await this.outbox?.settled();
        // The money lent to this session goes back, and the account forgets its lease, before its epoch goes.
        await this.lease.close(userId, sessionId);
        await forgetSessionStorage(this.ctx.storage);
        this.nameStored = false;
        this.alarmClock.deleted();
        this.answers.forget();
        await this.liveTurns.forget();
        return null;
      }),
      ErrorCode.UnableToDeleteSession,
    );
  }

  /** Resolves true once the database has every write of this session's answered turns; false when it refused them. */
  settled(): Promise<boolean> {
    return this.journal.settle().then(
      () => true,
      () => false, // logged by the journal; the alarm retries
    );
  }

  /** Resolves true once every turn queued so far has done all its work (its summary included) and the database has
   *  every write of it; false when the database refused them. What a caller awaits instead of polling for a
   *  summary to land. */
  async quiet(): Promise<boolean> {
    await this.queue.drained();
    return this.settled();
  }

  /** Retries what the journal and the outbox left behind and prunes old answers, in order with this session's turns. */
  override async alarm(): Promise<void> {
    this.alarmClock.rang();
    await this.queue.run(async () => {
      // The outbox resolves staged events against the database, so every journaled turn must be there first;
      // when the database refuses, the journal has asked to be woken again.
      const committed = await this.settled();
      if (committed) await this.outbox?.recover(this.parts().store);
      await this.answers.prune(Date.now());
      await this.liveTurns.prune(Date.now());
      await this.lease.idle(Date.now());
    });
  }

  /** This session's id: the name its object is reached by (every caller addresses it with idFromName). Each
   *  instance that has its name stores it once, for an instance the runtime wakes without it: local workerd wakes
   *  an object for its alarm after a restart by its id alone (workerd #6850), and that instance then gets calls too. */
  private async sessionId(): Promise<string> {
    const name = this.ctx.id.name;
    if (name !== undefined) {
      if (!this.nameStored) {
        this.nameStored = true;
        this.ctx.storage.put(SESSION_STORAGE.sessionName, name).catch((error: unknown) => {
          this.nameStored = false;
          console.error("session name not stored", error);
        });
      }
      return name;
    }
    const stored = await (this.storedName ??= this.ctx.storage.get<string>(SESSION_STORAGE.sessionName));
    if (stored === undefined) throw new Error("this session object was woken without its name and has none stored");
    return stored;
  }

  /** One stub per user (a session has one), so the account gets this session's calls in the order they were made. */
  private accountOf(userId: string): DurableObjectStub<UserAccount> {
    let account = this.accounts.get(userId);
    if (!account) this.accounts.set(userId, (account = accountObject(this.env, userId)));
    return account;
  }

  /** The account as the lease calls it. */
  private leaseAccount(): LeaseAccount {
    return {
      lend: async (userId, model, promptChars, request) => unwrap(await this.accountOf(userId).lend(userId, model, promptChars, request)),
      released: (userId, state) => this.accountOf(userId).released(userId, state),
      closed: (userId, state) => this.accountOf(userId).leaseClosed(userId, state),
    };
  }

  /** Hands turn events to a connection hub (one stub per hub, so its calls arrive in the order they were made). */
  private hubLink(): HubLink {
    const hubs = new Map<string, ReturnType<Env["CONNECTIONS"]["get"]>>();
    return (hubId, sessionId, events) => {
      let hub = hubs.get(hubId);
      if (!hub) hubs.set(hubId, (hub = this.env.CONNECTIONS.get(this.env.CONNECTIONS.idFromString(hubId))));
      return hub.deliver(sessionId, events);
    };
  }

  /** One store and one agent client for the object's lifetime: no per-turn connection setup. */
  private parts(): TurnParts & FileParts {
    return (this.turnParts ??= {
      config: this.config,
      store: openStore(this.config.storage),
      agent: createAgentClient(this.config.agent, this.config.AI_MAX_REPLY_BYTES),
      live: this.live,
      answers: this.answers,
      // A turn's account is its session's lease (credit-lease.ts): a warm turn asks the user's account nothing.
      accountOf: () => this.lease,
      keepAlive: (work) => this.ctx.waitUntil(work),
      journal: this.journal,
      outbox: this.outbox || null,
      liveTurns: this.liveTurns,
      metrics: this.config.turnMetrics,
      files: this.env.FILES,
    });
  }
}

/** What a batch of writes charges. */
function chargesOf(writes: readonly SessionWrite[]): number {
  return writes.reduce((sum, write) => sum + (write.kind === "turn" ? write.turn.chargeMicros : write.summary.chargeMicros), 0);
}

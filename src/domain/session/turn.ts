// Owns one chat turn, as named steps: load the context, authorize, reserve its money, start it live, call the
// agent (streaming its reply to the watchers), journal the turn (durable before the reply), end it live, reply;
// then summarize, store the summary, finish the reservation and publish the event. Its collaborators are passed in.
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { AgentClient } from "../../agent/agent-client";
import { describeAgent, type Config } from "../../config";
import type { ChatEvent } from "../../events/chat-event";
import type { ChatStore, FileRecord, HistoryEntry, ModelRecord, ModelRef, SessionRecord } from "../../storage/chat-store";
import { chargeForCancelledTurn, chargeForReportedCost, type Charge } from "../accounts/turn-budget";
import type { AuthorizedTurn, TurnAuthorizationRequest } from "../accounts/user-account";
import { ChatError, ErrorCode, failureOf, unwrap, type Outcome } from "../errors";
import { signedFileUrl } from "../files/file-urls";
import { microsToDollars } from "../money";
import type { CommitReceipt, Journal } from "./journal";
import type { AnswerLog } from "./answer-log";
import type { LiveContext, LiveSession } from "./live-context";
import type { LiveTurn, LiveTurns } from "./live-turns";
import type { TurnOutbox } from "./outbox";
import { nameAfterTurn } from "./session-name";
import { newSessionRecord } from "./session-record";
import { summarizeTurn, type SummaryResult } from "./summaries";
import type { Respond } from "../serial-queue";
import { logTurn, type TurnRecord } from "../../observability/log";

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
  /** The client's id for this request: a retry with the same id gets the same answer (answer-log.ts). */
  requestId: string | null;
  /** The hub of the v2 socket that sent it, which gets the turn's events; null from a v1 socket. */
  watcher: string | null;
}

export interface TurnReply {
  sessionId: string;
  sessionName: string;
  message: string;
  /** Set when a client cancelled the turn: `message` is the reply as far as it got. */
  cancelled?: true;
}

/** The user's money, as a turn uses it: its session's credit lease (accounts/credit-lease.ts), which asks the
 *  user's account object only when it runs short. */
export interface Account {
  authorizeTurn(request: TurnAuthorizationRequest): Promise<Outcome<AuthorizedTurn>>;
  finish(reservationId: string, chargedMicros: number): Promise<void>;
}

/** What a turn works with: the session object's parts, one per object lifetime. */
export interface TurnParts {
  config: Config;
  store: ChatStore;
  agent: AgentClient;
  live: LiveSession;
  answers: AnswerLog<TurnReply>;
  accountOf(userId: string): Account;
  /** Keeps the object alive until work the turn does not wait for is done. */
  keepAlive(work: Promise<unknown>): void;
  journal: Journal;
  outbox: TurnOutbox | null;
  liveTurns: LiveTurns;
  /** The TURN_METRICS Analytics Engine dataset, when bound. */
  metrics: AnalyticsEngineDataset | null;
}

/** Answers one chat message: `respond` gets the reply once the turn is durable; the rest runs before the next
 *  turn. The turn is logged once it ends, however it ends. */
export async function runTurn(request: TurnRequest, parts: TurnParts, respond: Respond<TurnReply>): Promise<void> {
  const started = Date.now();
  const record: TurnRecord = {
    sessionId: request.sessionId,
    userId: request.userId,
    requestId: request.requestId,
    model: null,
    turn: null,
    code: 0,
    cancelled: false,
    replayed: false,
    replyMs: null,
    agentMs: null,
    chargeMicros: 0,
  };
  const respondNoted: Respond<TurnReply> = (reply) => {
    record.replyMs = Date.now() - started;
    record.cancelled = reply.cancelled ?? false;
    respond(reply);
  };
  try {
    await turnSteps(request, parts, respondNoted, record);
  } catch (error) {
    record.code = failureOf(error, ErrorCode.InternalServerError).code;
    throw error;
  } finally {
    logTurn(record, parts.metrics);
  }
}

async function turnSteps(request: TurnRequest, parts: TurnParts, respond: Respond<TurnReply>, record: TurnRecord): Promise<void> {
  const earlier = await answeredBefore(request, parts);
  record.replayed = earlier !== null;
  if (earlier) return respond(earlier);
  const context = await loadContext(request, parts);
  const { model, budget } = await authorizeAndReserve(request, context, parts);
  record.model = model.name;
  let chargedMicros = 0;
  try {
    const live = await startLive(request, context, parts);
    record.turn = live.number;
    const { answer, turn, journaled, reply } = await answerLive(live, request, context, model, budget, parts, record);
    chargedMicros = answer.charge.chargeMicros;
    respond(reply);

    const summary = await summarize(turn, model, budget, chargedMicros, parts);
    const summaryStored = summary ? await storeSummary(turn.session, summary, journaled.live, budget, parts) : null;
    if (summary && summaryStored) chargedMicros += summary.chargeMicros;
    publish(turn, journaled, summary, summaryStored, parts);
  } finally {
    record.chargeMicros = chargedMicros;
    finishReservation(request.userId, budget, chargedMicros, parts);
  }
}

/** The turn from the agent call to its durable journal entry, told as it happens to the hubs that watch the
 *  session; its last event reaches the requesting socket before its reply. */
async function answerLive(live: LiveTurn, request: TurnRequest, context: TurnContext, model: ModelRecord, budget: TurnBudget, parts: TurnParts, record: TurnRecord) {
  let answered;
  try {
    const agentStarted = Date.now();
    const answer = await callAgent(request, context, model, budget, live, parts).finally(() => (record.agentMs = Date.now() - agentStarted));
    const turn = recordTurn(request, context, model, answer, parts.config.SESSION_NAME_MAX_CHARS);
    const reply: TurnReply = { sessionId: turn.session.id, sessionName: turn.session.name, message: answer.text, ...(answer.cancelled ? { cancelled: true } : {}) };
    const journaled = await journalTurn(turn, context.live, budget, answer.charge.chargeMicros, request.requestId, reply, parts);
    answered = { answer, turn, journaled, reply };
  } catch (error) {
    const failure = failureOf(error, ErrorCode.InternalServerError);
    await live.end({ event: "error", code: failure.code, message: failure.message });
    throw error;
  }
  // The turn is journaled: from here on it has happened, whatever its live ending meets.
  await live.end(answered.answer.cancelled ? { event: "cancelled" } : { event: "end" });
  return answered;
}

interface TurnContext {
  /** null for a session this turn starts. */
  live: LiveContext | null;
  file: FileRecord | null;
  modelRef: ModelRef;
}

/** The money held for this turn in the user's account. */
interface TurnBudget {
  reservationId: string;
  reservedMicros: number;
  /** What the user could spend when the turn was reserved (the agent is told it as the balance). */
  spendableMicros: number;
  /** Characters the agent is sent: what a cancelled turn pays as its prompt. */
  promptChars: number;
}

interface AgentAnswer {
  text: string;
  charge: Charge;
  /** A client cancelled the turn: `text` is what the agent had sent. */
  cancelled: boolean;
}

interface RecordedTurn {
  session: SessionRecord;
  isNew: boolean;
  entries: HistoryEntry[];
  firstSeq: number;
  userMessage: string;
  assistantMessage: string;
  at: number;
}

interface JournaledTurn {
  live: LiveContext;
  /** The turn's event as it will be published, unless the summary or the database change it. */
  event: ChatEvent;
  /** Staged in the outbox, or not mirrored (mirror off, or staging failed). */
  staged: boolean;
  committed: Promise<CommitReceipt>;
}

/** The answer this session gave to a turn with the same request id within the window (a client's retry). */
async function answeredBefore(request: TurnRequest, { answers, store }: TurnParts): Promise<TurnReply | null> {
  if (!request.requestId) return null;
  const earlier = await answers.find(request.requestId, request.userId, Date.now());
  if (earlier || !request.isNew) return earlier;
  // A new session's id comes from its request id: one used before, past the window, must not start it again.
  if (await store.findSession(request.sessionId)) {
    throw new ChatError(ErrorCode.InvalidField, 'Invalid field "id": this request id already started a session; use a new id for a new message');
  }
  return null;
}

/** The session as this object knows it (none for a new session), checked against the request. */
async function loadContext(request: TurnRequest, { store, live, journal }: TurnParts): Promise<TurnContext> {
  const context = request.isNew ? null : await live.load(store, request.sessionId, () => journal.settle());
  if (context && context.session.userId !== request.userId) throw new ChatError(ErrorCode.SessionNotFound);

  const file = request.fileName ? (context?.files.find((f) => f.fileName === request.fileName) ?? null) : null;
  if (request.fileName && !file) throw new ChatError(ErrorCode.FileNotFound, `File not found in this session: ${request.fileName}`);

  const modelRef = request.model ?? (context ? { id: context.session.modelId } : null);
  if (!modelRef) throw new ChatError(ErrorCode.InvalidField, 'Invalid field "data.model_name": a new session needs model_name or model_id');
  return { live: context, file, modelRef };
}

/** The user may use the model and the money the turn may cost is held, whatever other sessions of the user do
 *  (out of the session's lease: a warm turn reads nothing and calls no other object). */
async function authorizeAndReserve(request: TurnRequest, context: TurnContext, { accountOf }: TurnParts): Promise<{ model: ModelRecord; budget: TurnBudget }> {
  const live = context.live;
  const historyChars = live?.recent.reduce((sum, entry) => sum + entry.content.length, 0) ?? 0;
  const promptChars = promptOf(request, context).length + request.message.length + (live?.session.summary.length ?? 0) + historyChars;
  const reservationId = crypto.randomUUID();
  const authorized = unwrap(await accountOf(request.userId).authorizeTurn({ userId: request.userId, reservationId, model: context.modelRef, promptChars }));
  return { model: authorized.model, budget: { reservationId, reservedMicros: authorized.reservedMicros, spendableMicros: authorized.spendableMicros, promptChars } };
}

/** The turn is accepted: it gets its number and its watchers learn that it started. */
function startLive(request: TurnRequest, context: TurnContext, { liveTurns, config }: TurnParts): Promise<LiveTurn> {
  return liveTurns.start({
    userId: request.userId,
    sessionId: request.sessionId,
    sessionName: sessionNameAfter(request, context, config.SESSION_NAME_MAX_CHARS),
    userMessage: request.message,
    watcher: request.watcher,
  });
}

/** The agent's reply, piece by piece as it streams (each piece goes out to the watchers at once), until it ends,
 *  fails, falls silent for AI_TIMEOUT_MS, runs past AI_TURN_TIMEOUT_MS, or a client cancels the turn (then only
 *  a cost the agent still reports counts, agent-client.ts). */
async function callAgent(request: TurnRequest, context: TurnContext, model: ModelRecord, budget: TurnBudget, live: LiveTurn, { agent, config }: TurnParts): Promise<AgentAnswer> {
  const fileUrls = context.file ? [await agentFileUrl(config, context.file, request.requestOrigin)] : [];
  let reportedDollars = 0;
  try {
    const pieces = agent.reply(
      {
        userId: request.userId,
        sessionId: request.sessionId,
        chatMessage: request.message,
        modelName: model.name,
        modelProvider: model.provider,
        sessionPrompt: promptOf(request, context),
        fileName: fileUrls,
        chatSummary: context.live?.session.summary ?? "",
        chatHistory: JSON.stringify(context.live?.recent ?? []),
        balance: microsToDollars(budget.spendableMicros),
        timestamp: timestampNow(),
      },
      { silenceMs: config.AI_TIMEOUT_MS, callMs: config.AI_TURN_TIMEOUT_MS, signal: live.signal },
    );
    for await (const piece of pieces) {
      if (!live.cancelled) live.piece(piece.text);
      reportedDollars += piece.costDollars;
    }
  } catch (error) {
    if (!live.cancelled) throw new ChatError(ErrorCode.UnableToReceiveResponse, undefined, agentFailure(config, error));
  }
  if (live.cancelled) {
    const work = { promptChars: budget.promptChars, deliveredChars: live.text.length, reportedDollars };
    const charge = chargeForCancelledTurn(work, model, budget.reservedMicros, config.maxTurnCostMicros);
    if (charge.adjusted) console.warn(`cancelled turn of session ${request.sessionId}: ${charge.adjusted}`);
    return { text: live.text, charge, cancelled: true };
  }
  live.replyComplete = true;
  const text = live.text;
  // An empty reply is not an answer: the turn fails and charges nothing.
  if (text.trim() === "") throw new ChatError(ErrorCode.UnableToReceiveResponse, undefined, agentFailure(config, "it answered an empty reply"));
  const charge = chargeForReportedCost(reportedDollars, budget.reservedMicros, config.maxTurnCostMicros);
  if (charge.adjusted) console.warn(`turn of session ${request.sessionId}: ${charge.adjusted}`);
  return { text, charge, cancelled: false };
}

/** Why an agent call failed, naming the agent (where and how it is reached) for the log. */
function agentFailure(config: Config, error: unknown): Error {
  return new Error(`the agent at ${describeAgent(config.agent)} failed: ${String(error)}`, { cause: error });
}

/** An expiring signed URL of the attached file, for the agent to fetch. */
async function agentFileUrl(config: Config, file: FileRecord, requestOrigin: string): Promise<string> {
  if (!config.FILE_URL_SECRET) {
    throw new ChatError(ErrorCode.InternalServerError, "File URLs are not configured: set the FILE_URL_SECRET secret");
  }
  const base = config.PUBLIC_BASE_URL ?? requestOrigin;
  return signedFileUrl(base, file.fileName, config.FILE_URL_SECRET, config.FILE_URL_TTL, Date.now());
}

/** The session's name once this turn is in: its first turn names it (session-name.ts). */
function sessionNameAfter(request: TurnRequest, { live, file }: TurnContext, maxChars: number): string {
  const current = live ? { name: live.session.name, historyLength: live.nextSeq } : null;
  return nameAfterTurn(current, request.message, file?.originalName ?? null, maxChars);
}

const promptOf = (request: TurnRequest, { live }: TurnContext) => request.sessionPrompt || live?.session.prompt || "";

/** What the turn changes: the session record and the history entries it adds. */
function recordTurn(request: TurnRequest, context: TurnContext, model: ModelRecord, answer: AgentAnswer, nameMaxChars: number): RecordedTurn {
  const now = Date.now();
  const prompt = promptOf(request, context);
  const { live, file } = context;
  const name = sessionNameAfter(request, context, nameMaxChars);
  const session = live
    ? { ...live.session, modelId: model.id, name, prompt, lastActiveAt: now }
    : newSessionRecord({ id: request.sessionId, userId: request.userId, modelId: model.id, name, prompt }, now);
  const entries: HistoryEntry[] = [
    { role: "user", content: request.message },
    { role: "assistant", content: answer.text },
    ...(file ? [{ role: "file" as const, content: file.fileName }] : []),
  ];
  return { session, isNew: !live, entries, firstSeq: live?.nextSeq ?? 0, userMessage: request.message, assistantMessage: answer.text, at: now };
}

/**
 * Stages the turn's event, then journals the turn durably in this object's storage: once this returns, the reply
 * may go out (the database gets the turn behind it; until then the user's account holds its charge).
 */
async function journalTurn(
  turn: RecordedTurn,
  previous: LiveContext | null,
  budget: TurnBudget,
  chargeMicros: number,
  requestId: string | null,
  reply: TurnReply,
  parts: TurnParts,
): Promise<JournaledTurn> {
  const { entries, firstSeq, isNew, at } = turn;
  let { session } = turn;
  // The stream's readers learn of a session from its first mirrored event ("new", which inserts it there): one
  // started here, even while the mirror was off (that event then carries the history so far), never an imported one.
  // (A record journaled before the field existed has none: such a session was already started the old way.)
  const startsStream = session.streamed === false;
  const earlier = startsStream && firstSeq > 0 && parts.outbox ? await historySoFar(session.id, parts) : [];
  // Without the history the event would start the session incomplete there: it waits for a later turn.
  const outbox = earlier === null ? null : parts.outbox;
  const event: ChatEvent = {
    userId: session.userId,
    sessionId: session.id,
    sessionPrompt: session.prompt,
    modelId: session.modelId,
    chats: [...(earlier ?? []), ...entries],
    chatsSummary: session.summary,
    sessionName: session.name,
    isNew: startsStream,
    balanceMicros: budget.spendableMicros - chargeMicros,
  };
  const staged = await stageEvent(event, firstSeq, outbox);
  if (staged && startsStream) session = { ...session, streamed: true };
  let committed: Promise<CommitReceipt>;
  const answer = requestId ? parts.answers.entry(requestId, session.userId, reply, at) : {};
  try {
    ({ committed } = await parts.journal.add(
      { kind: "turn", turn: { session, isNew, entries, firstSeq, chargeMicros, reservationId: budget.reservationId, at } },
      // The answer is kept with the turn, so a retry finds it whenever the turn is kept; so is the turn count.
      { durable: true, alongside: { ...parts.liveTurns.journalEntries(), ...answer } },
    ));
    if (requestId) parts.answers.kept(requestId, { userId: session.userId, reply, at });
  } catch (error) {
    if (staged) await parts.outbox?.drop(session.id, firstSeq);
    throw new ChatError(isNew ? ErrorCode.UnableToCreateSession : ErrorCode.InternalServerError, undefined, error);
  }
  const live = parts.live.turnJournaled(previous, session, entries);
  return { live, event, staged, committed };
}

/** The session's whole history before this turn, for the event that first brings it to the stream (rare: only a
 *  session whose earlier turns ran while the mirror was off); its earlier turns are committed first. */
async function historySoFar(sessionId: string, { journal, store }: TurnParts): Promise<HistoryEntry[] | null> {
  try {
    await journal.settle();
    return await store.readHistory(sessionId);
  } catch (error) {
    console.warn(`session ${sessionId}: its history could not be read for the event that starts it on the stream; a later turn will`, error);
    return null;
  }
}

/** Stages the event before the turn commits; a mirror problem never fails the turn (the turn is then not mirrored). */
async function stageEvent(event: ChatEvent, firstSeq: number, outbox: TurnOutbox | null): Promise<boolean> {
  if (!outbox) return false;
  try {
    await outbox.stage(event, firstSeq);
    return true;
  } catch (error) {
    console.error(`chat event of session ${event.sessionId} not staged`, error);
    return false;
  }
}

/** A summary and what it charges. */
interface ChargedSummary {
  summary: string;
  chargeMicros: number;
}

/** The summary after the turn (the next turn needs it) and its charge out of what is left of the turn's
 *  reservation, or null when there is none or it failed. */
async function summarize(
  turn: RecordedTurn,
  model: ModelRecord,
  budget: TurnBudget,
  turnChargeMicros: number,
  { agent, config, store }: TurnParts,
): Promise<ChargedSummary | null> {
  const { session } = turn;
  let result: SummaryResult | null;
  try {
    result = await summarizeTurn(
      { userId: session.userId, sessionId: session.id, model, previousSummary: session.summary, userMessage: turn.userMessage, assistantMessage: turn.assistantMessage },
      agent,
      config,
      store,
    );
  } catch (error) {
    console.error(`summary of session ${session.id} not updated`, error);
    return null;
  }
  if (!result) return null;
  const charge = chargeForReportedCost(result.costDollars, budget.reservedMicros - turnChargeMicros, config.maxTurnCostMicros);
  if (charge.adjusted) console.warn(`summary of session ${session.id}: ${charge.adjusted}`);
  return { summary: result.summary, chargeMicros: charge.chargeMicros };
}

/** Hands the summary to the next turn and journals it with its charge; null when it could not be journaled. The
 *  commit comes wrapped: a promise returned bare would make the caller wait for it. */
async function storeSummary(
  session: SessionRecord,
  summary: ChargedSummary,
  live: LiveContext,
  budget: TurnBudget,
  parts: TurnParts,
): Promise<{ committed: Promise<CommitReceipt> } | null> {
  parts.live.summarized(live, summary.summary);
  try {
    // Not stored on its own: it goes with the next turn's journal entry or its batch (a crash in between loses
    // this summary and its charge, never a turn). One storage commit per turn instead of two.
    const { committed } = await parts.journal.add(
      {
        kind: "summary",
        summary: {
          sessionId: session.id,
          userId: session.userId,
          summary: summary.summary,
          chargeMicros: summary.chargeMicros,
          reservationId: budget.reservationId,
          at: Date.now(),
        },
      },
      { durable: false },
    );
    return { committed };
  } catch (error) {
    console.error(`summary of session ${session.id} not stored`, error);
    return null;
  }
}

/** The turn ended: the lease keeps holding what it charged until the database has it, and frees the rest. */
function finishReservation(userId: string, budget: TurnBudget, chargedMicros: number, { accountOf, keepAlive }: TurnParts): void {
  const finished = accountOf(userId)
    .finish(budget.reservationId, chargedMicros)
    .catch((error: unknown) => console.error(`reservation ${budget.reservationId} not finished`, error));
  keepAlive(finished);
}

/** Mirrors the turn once it and its summary are in the database; the next turn need not wait for that. */
function publish(
  turn: RecordedTurn,
  journaled: JournaledTurn,
  summary: ChargedSummary | null,
  summaryStored: { committed: Promise<CommitReceipt> } | null,
  { outbox }: TurnParts,
): void {
  if (!outbox || !journaled.staged) return;
  outbox.publish(turn.firstSeq, async () => {
    const receipt = await (summaryStored?.committed ?? journaled.committed);
    return {
      ...journaled.event,
      chatsSummary: summary?.summary ?? journaled.event.chatsSummary,
      balanceMicros: receipt.balance === "known" ? receipt.balanceMicros : journaled.event.balanceMicros,
    };
  });
}

// Owns one chat turn, as named steps: load the context, authorize, call the agent, journal the turn (durable before
// the reply), reply; then summarize, store the summary and publish the event. Its collaborators are passed in.
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { AgentClient } from "../../agent/agent-client";
import type { Config } from "../../config";
import type { ChatEvent } from "../../events/chat-event";
import type { ChatStore, FileRecord, HistoryEntry, ModelRecord, ModelRef, SessionRecord } from "../../storage/chat-store";
import { requireModelAccess } from "../accounts/accounts";
import { ChatError, ErrorCode } from "../errors";
import { signedFileUrl } from "../files/file-urls";
import { chargeFromReportedCost, microsToDollars } from "../money";
import type { AccountCache } from "./account-cache";
import type { CommitReceipt, Journal } from "./journal";
import type { LiveContext, LiveSession } from "./live-context";
import type { TurnOutbox } from "./outbox";
import { sessionNameFrom } from "./session-name";
import { newSessionRecord } from "./session-record";
import { summarizeTurn, type SummaryResult } from "./summaries";
import type { Respond } from "./turn-queue";

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

export interface TurnReply {
  sessionId: string;
  sessionName: string;
  message: string;
}

/** What a turn works with: the session object's parts, one per object lifetime. */
export interface TurnParts {
  config: Config;
  store: ChatStore;
  agent: AgentClient;
  live: LiveSession;
  account: AccountCache;
  journal: Journal;
  outbox: TurnOutbox | null;
}

/** Answers one chat message: `respond` gets the reply once the turn is durable; the rest runs before the next turn. */
export async function runTurn(request: TurnRequest, parts: TurnParts, respond: Respond<TurnReply>): Promise<void> {
  const context = await loadContext(request, parts);
  const access = await authorize(request, context, parts);
  const answer = await callAgent(request, context, access, parts);
  const turn = recordTurn(request, context, access.model, answer, parts.config.SESSION_NAME_MAX_CHARS);
  const journaled = await journalTurn(turn, context.live, access.balanceMicros, answer.chargeMicros, parts);
  respond({ sessionId: turn.session.id, sessionName: turn.session.name, message: answer.text });

  const summary = await summarize(turn, access.model, parts);
  const summaryStored = summary ? await storeSummary(turn.session, summary, journaled.live, parts) : null;
  publish(turn, journaled, summary, summaryStored, parts);
}

interface TurnContext {
  /** null for a session this turn starts. */
  live: LiveContext | null;
  file: FileRecord | null;
  modelRef: ModelRef;
}

interface TurnAccess {
  model: ModelRecord;
  balanceMicros: number;
}

interface AgentAnswer {
  text: string;
  chargeMicros: number;
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

/** The user may use the model and has money left; warm sessions answer from their account cache. */
async function authorize(request: TurnRequest, { modelRef }: TurnContext, { account, journal, store }: TurnParts): Promise<TurnAccess> {
  const readAccount = async (ref: ModelRef) => {
    await journal.settle(); // the database's balance must include this session's journaled charges
    return store.authorizeTurn(request.userId, ref);
  };
  const access = requireModelAccess(await account.authorize(readAccount, modelRef, Date.now()), modelRef);
  if (access.balanceMicros <= 0) throw new ChatError(ErrorCode.InsufficientBalance);
  return { model: access.model, balanceMicros: access.balanceMicros };
}

async function callAgent(request: TurnRequest, context: TurnContext, access: TurnAccess, { agent, config }: TurnParts): Promise<AgentAnswer> {
  const fileUrls = context.file ? [await agentFileUrl(config, context.file, request.requestOrigin)] : [];
  try {
    const response = await agent.process(
      {
        userId: request.userId,
        sessionId: request.sessionId,
        chatMessage: request.message,
        modelName: access.model.name,
        modelProvider: access.model.provider,
        sessionPrompt: promptOf(request, context),
        fileName: fileUrls,
        chatSummary: context.live?.session.summary ?? "",
        chatHistory: JSON.stringify(context.live?.recent ?? []),
        balance: microsToDollars(access.balanceMicros),
        timestamp: timestampNow(),
      },
      { timeoutMs: config.AI_TIMEOUT_MS },
    );
    return { text: response.responseText, chargeMicros: chargeFromReportedCost(response.cost) };
  } catch (error) {
    throw new ChatError(ErrorCode.UnableToReceiveResponse, undefined, error);
  }
}

/** An expiring signed URL of the attached file, for the agent to fetch. */
async function agentFileUrl(config: Config, file: FileRecord, requestOrigin: string): Promise<string> {
  if (!config.FILE_URL_SECRET) {
    throw new ChatError(ErrorCode.InternalServerError, "File URLs are not configured: set the FILE_URL_SECRET secret");
  }
  const base = config.PUBLIC_BASE_URL ?? requestOrigin;
  return signedFileUrl(base, file.fileName, config.FILE_URL_SECRET, config.FILE_URL_TTL, Date.now());
}

const promptOf = (request: TurnRequest, { live }: TurnContext) => request.sessionPrompt || live?.session.prompt || "";

/** What the turn changes: the session record and the history entries it adds. */
function recordTurn(request: TurnRequest, context: TurnContext, model: ModelRecord, answer: AgentAnswer, nameMaxChars: number): RecordedTurn {
  const now = Date.now();
  const prompt = promptOf(request, context);
  const { live, file } = context;
  const session = live
    ? { ...live.session, modelId: model.id, prompt, lastActiveAt: now }
    : newSessionRecord({ id: request.sessionId, userId: request.userId, modelId: model.id, name: sessionNameFrom(request.message, nameMaxChars), prompt }, now);
  const entries: HistoryEntry[] = [
    { role: "user", content: request.message },
    { role: "assistant", content: answer.text },
    ...(file ? [{ role: "file" as const, content: file.fileName }] : []),
  ];
  return { session, isNew: !live, entries, firstSeq: live?.nextSeq ?? 0, userMessage: request.message, assistantMessage: answer.text, at: now };
}

/**
 * Stages the turn's event, then journals the turn durably in this object's storage: once this returns, the reply
 * may go out (the database gets the turn behind it). Until the database confirms, the charge is held in the cache.
 */
async function journalTurn(
  turn: RecordedTurn,
  previous: LiveContext | null,
  balanceMicros: number,
  chargeMicros: number,
  parts: TurnParts,
): Promise<JournaledTurn> {
  const { session, entries, firstSeq, isNew, at } = turn;
  const event: ChatEvent = {
    userId: session.userId,
    sessionId: session.id,
    sessionPrompt: session.prompt,
    modelId: session.modelId,
    chats: entries,
    chatsSummary: session.summary,
    sessionName: session.name,
    isNew: firstSeq === 0,
    balanceMicros: balanceMicros - chargeMicros,
  };
  const staged = await stageEvent(event, firstSeq, parts.outbox);
  let committed: Promise<CommitReceipt>;
  try {
    ({ committed } = await parts.journal.add({ kind: "turn", turn: { session, isNew, entries, firstSeq, chargeMicros, at } }, { durable: true }));
  } catch (error) {
    if (staged) await parts.outbox?.drop(session.id, firstSeq);
    throw new ChatError(isNew ? ErrorCode.UnableToCreateSession : ErrorCode.InternalServerError, undefined, error);
  }
  parts.account.debit(chargeMicros);
  trackBalance(committed, parts);
  const live = parts.live.turnJournaled(previous, session, entries);
  return { live, event, staged, committed };
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

/** The summary after the turn (the next turn needs it), or null when there is none or it failed. */
async function summarize(turn: RecordedTurn, model: ModelRecord, { agent, config, store }: TurnParts): Promise<SummaryResult | null> {
  const { session } = turn;
  try {
    return await summarizeTurn(
      { userId: session.userId, sessionId: session.id, model, previousSummary: session.summary, userMessage: turn.userMessage, assistantMessage: turn.assistantMessage },
      agent,
      config,
      store,
    );
  } catch (error) {
    console.error(`summary of session ${session.id} not updated`, error);
    return null;
  }
}

/** Hands the summary to the next turn and journals it with its charge; null when it could not be journaled. The
 *  commit comes wrapped: a promise returned bare would make the caller wait for it. */
async function storeSummary(
  session: SessionRecord,
  result: SummaryResult,
  live: LiveContext,
  parts: TurnParts,
): Promise<{ committed: Promise<CommitReceipt> } | null> {
  parts.live.summarized(live, result.summary);
  try {
    // Not stored on its own: it goes with the next turn's journal entry or its batch (a crash in between loses
    // this summary and its charge, never a turn). One storage commit per turn instead of two.
    const { committed } = await parts.journal.add(
      { kind: "summary", summary: { sessionId: session.id, userId: session.userId, summary: result.summary, chargeMicros: result.chargeMicros, at: Date.now() } },
      { durable: false },
    );
    parts.account.debit(result.chargeMicros);
    trackBalance(committed, parts);
    return { committed };
  } catch (error) {
    console.error(`summary of session ${session.id} not stored`, error);
    return null;
  }
}

/** Once the database has a write, its balance (less the charges still journaled) replaces the cache's estimate. */
function trackBalance(committed: Promise<CommitReceipt>, { account, journal }: TurnParts): void {
  void committed.then((receipt) => {
    if (receipt.balance === "known") account.charged(receipt.balanceMicros - journal.uncommittedChargeMicros());
    else account.invalidate(); // re-read when next needed
  });
}

/** Mirrors the turn once it and its summary are in the database; the next turn need not wait for that. */
function publish(
  turn: RecordedTurn,
  journaled: JournaledTurn,
  summary: SummaryResult | null,
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

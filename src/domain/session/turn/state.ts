// Owns the shapes of a turn: what it is asked and answers, the session object's parts it works with, and the turn
// state the steps hand on, one stage per step (each stage is the one before with what its step learned).
import type { AgentClient } from "../../../agent/agent-client";
import type { Config } from "../../../config";
import type { TurnRecord } from "../../../observability/log";
import type { AccountStore, FileRecord, HistoryEntry, ModelRecord, ModelRef, SessionRecord, SessionStore } from "../../../storage/chat-store";
import type { AnswerLog } from "../answer-log";
import type { CommitReceipt, Journal } from "../journal";
import type { LiveContext, LiveSession } from "../live-context";
import type { LiveTurn, LiveTurns } from "../live-turns";
import type { StagedEvent, TurnOutbox } from "../outbox";
import type { Account, TurnBudget } from "./charging";

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

/** What a turn works with: the session object's parts, one per object lifetime. */
export interface TurnParts {
  config: Config;
  store: SessionStore & AccountStore;
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

/** A turn as it arrives. */
export interface Turn {
  request: TurnRequest;
  /** Its log line, filled in as it goes and written once it ends, however it ends (observability/log.ts). */
  log: TurnRecord;
}

/** The session as this object knows it, checked against the request, and what this turn makes of it. */
export interface LoadedTurn extends Turn {
  /** null for a session this turn starts. */
  context: LiveContext | null;
  file: FileRecord | null;
  modelRef: ModelRef;
  /** The session's name once this turn is in: its first turn names it (session-name.ts). */
  sessionName: string;
  /** The session's prompt from this turn on: the request's, else the session's. */
  prompt: string;
}

/** The user may use the model, and the money the turn may cost is held. */
export interface ReservedTurn extends LoadedTurn {
  model: ModelRecord;
  budget: TurnBudget;
}

/** Accepted: numbered, and its watchers follow it. */
export interface LiveTurnState extends ReservedTurn {
  liveTurn: LiveTurn;
}

/** What the agent answered. */
export interface AgentAnswer {
  text: string;
  /** What the agent reported the call cost, in dollars, summed over its pieces. */
  reportedDollars: number;
  /** A client cancelled the turn: `text` is what the agent had sent. */
  cancelled: boolean;
}

/** Answered, with what the turn changes: the session record and the history entries it adds. */
export interface RecordedTurn extends LiveTurnState {
  answer: AgentAnswer;
  /** What the reply charges (charging.ts). */
  chargeMicros: number;
  session: SessionRecord;
  entries: HistoryEntry[];
  /** The sequence number of the turn's first history entry. */
  firstSeq: number;
  at: number;
  reply: TurnReply;
}

/** Durable in this object's storage: it has happened, whatever comes after. */
export interface JournaledTurn extends RecordedTurn {
  /** The session's context after this turn, as this object now keeps it. */
  after: LiveContext;
  /** The turn's chat event, staged for the mirror; null when it is not mirrored. */
  staged: StagedEvent | null;
  committed: Promise<CommitReceipt>;
}

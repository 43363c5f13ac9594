// Owns the mapping from one turn's life (protocol v2 turn events, or a refusal) to the AI SDK's UIMessageChunks:
// start/text-start, text-delta per delta, text-end/finish at its end, an error chunk for a failure. Pure: the
// transport (ai-sdk.ts) feeds it, test/unit/ai-sdk-chunks.test.ts checks it.
import type { UIMessage, UIMessageChunk } from "ai";
import { ChatBackendError, ChatClientError } from "./errors";
import type { ErrorCode } from "../protocol";
import { UploadError } from "./upload";

/** What a reply of Chat-Backend carries as its UIMessage's `metadata`. */
export interface TurnMetadata {
  /** The Chat-Backend session the message belongs to. */
  sessionId: string;
  sessionName?: string;
  /** The turn's number in its session (docs/protocol.md 9.2); absent on messages read from a stored history. */
  turn?: number;
  /** Dollars this turn cost: the user's balance before it minus after it, as this transport's connection read them
   *  (another turn of the same user ending meanwhile would count in it). Absent on resumed and stored turns. */
  charge?: number;
  /** The user's balance in dollars once the turn was committed. */
  balance?: number;
  /** The turn was cancelled (Stop, or a cancel from another tab): the text is the partial reply, as stored. */
  cancelled?: boolean;
}

/** A UIMessage of a Chat-Backend chat: `useChat<ChatBackendUIMessage>({ transport })`. */
export type ChatBackendUIMessage = UIMessage<TurnMetadata>;
export type ChatBackendChunk = UIMessageChunk<TurnMetadata>;

/** The text of an error chunk: the protocol's text, then its code (`Insufficient balance (code 15)`), so a UI shows
 *  both and `errorCodeOf` reads the code back; a refused upload's message with its HTTP status. */
export function errorText(error: unknown): string {
  if (error instanceof ChatBackendError) return `${error.message} (code ${error.code})`;
  if (error instanceof ChatClientError) return `${error.message} (${error.reason})`;
  if (error instanceof UploadError) return `${error.message} (HTTP ${error.status})`;
  return error instanceof Error ? error.message : String(error);
}

/** The protocol's error code in an error chunk's text (useChat's `error.message`), if it has one. */
export function errorCodeOf(text: string): ErrorCode | undefined {
  const match = /\(code (\d+)\)$/.exec(text);
  return match ? (Number(match[1]) as ErrorCode) : undefined;
}

/**
 * The chunks of one assistant message, built as its turn goes:
 * - `start` (the turn's `start` event): `start` with the message id and the metadata, then `text-start`;
 * - `delta` (each `delta` event, once, in `seq` order): `text-delta`;
 * - `end` (the `end` or `cancelled` event, with the reply as committed): `text-end`, then `finish` with the metadata
 *   (`finishReason` "stop", or "other" and `cancelled: true` for a cancelled turn);
 * - `fail` (the `error` event, or a refusal before `start`): `text-end` if text was open, then `error` carrying the
 *   protocol's text and code.
 * Each step is emitted once; a step out of order (a delta before the start) brings the missing start along.
 */
export class TurnChunks {
  private started = false;
  private textOpen = false;
  private settled = false;
  private readonly textId: string;

  constructor(private readonly messageId: string) {
    this.textId = `${messageId}:text`;
  }

  start(metadata: TurnMetadata): ChatBackendChunk[] {
    if (this.started || this.settled) return [];
    this.started = true;
    this.textOpen = true;
    return [
      { type: "start", messageId: this.messageId, messageMetadata: metadata },
      { type: "text-start", id: this.textId },
    ];
  }

  delta(text: string, metadata: TurnMetadata): ChatBackendChunk[] {
    if (this.settled || text === "") return [];
    return [...this.start(metadata), { type: "text-delta", id: this.textId, delta: text }];
  }

  end(metadata: TurnMetadata): ChatBackendChunk[] {
    if (this.settled) return [];
    const opening = this.start(metadata);
    this.settled = true;
    this.textOpen = false;
    return [...opening, { type: "text-end", id: this.textId }, { type: "finish", finishReason: metadata.cancelled ? "other" : "stop", messageMetadata: metadata }];
  }

  fail(error: unknown): ChatBackendChunk[] {
    if (this.settled) return [];
    this.settled = true;
    const closing: ChatBackendChunk[] = this.textOpen ? [{ type: "text-end", id: this.textId }] : [];
    this.textOpen = false;
    return [...closing, { type: "error", errorText: errorText(error) }];
  }
}

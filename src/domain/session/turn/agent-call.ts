// Owns a turn's call to its agent: what the agent is sent (with a signed URL of an attached file), its reply streamed
// piece by piece to the turn's watchers, and how the call ends: answered, cancelled by a client, or failed.
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { describeAgent, type Config } from "../../../config";
import type { FileRecord } from "../../../storage/chat-store";
import { ChatError, ErrorCode } from "../../errors";
import { signedFileUrl } from "../../files/file-urls";
import { microsToDollars } from "../../money";
import type { AgentAnswer, LiveTurnState, TurnParts } from "./state";

/** The agent's reply, piece by piece as it streams (each piece goes out to the watchers at once), until it ends,
 *  fails, falls silent for AI_TIMEOUT_MS, runs past AI_TURN_TIMEOUT_MS, or a client cancels the turn (then only
 *  a cost the agent still reports counts, agent-client.ts). */
export async function callAgent(turn: LiveTurnState, { agent, config }: TurnParts): Promise<AgentAnswer> {
  const { request, context, model, liveTurn } = turn;
  const fileUrls = turn.file ? [await agentFileUrl(config, turn.file, request.requestOrigin)] : [];
  let reportedDollars = 0;
  try {
    const pieces = agent.reply(
      {
        userId: request.userId,
        sessionId: request.sessionId,
        chatMessage: request.message,
        modelName: model.name,
        modelProvider: model.provider,
        sessionPrompt: turn.prompt,
        fileName: fileUrls,
        chatSummary: context?.session.summary ?? "",
        chatHistory: JSON.stringify(context?.recent ?? []),
        balance: microsToDollars(turn.budget.reservation.spendableMicros),
        timestamp: timestampNow(),
      },
      { silenceMs: config.AI_TIMEOUT_MS, callMs: config.AI_TURN_TIMEOUT_MS, signal: liveTurn.signal },
    );
    for await (const piece of pieces) {
      if (!liveTurn.cancelled) liveTurn.piece(piece.text);
      reportedDollars += piece.costDollars;
    }
  } catch (error) {
    if (!liveTurn.cancelled) throw new ChatError(ErrorCode.UnableToReceiveResponse, undefined, agentFailure(config, error));
  }
  if (liveTurn.cancelled) return { text: liveTurn.text, reportedDollars, cancelled: true };
  liveTurn.replyComplete = true;
  const text = liveTurn.text;
  // An empty reply is not an answer: the turn fails and charges nothing.
  if (text.trim() === "") throw new ChatError(ErrorCode.UnableToReceiveResponse, undefined, agentFailure(config, "it answered an empty reply"));
  return { text, reportedDollars, cancelled: false };
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

// Owns naming a new session from its first message.
const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });
/** The name of a session whose first message has no text to name it by, or that an upload started. */
export const NEW_CHAT_NAME = "New Chat";

/**
 * The first message, whitespace collapsed, cut to at most `maxChars` user-perceived characters:
 * at the last word boundary when there is one, else between two characters (never inside one).
 */
export function sessionNameFrom(message: string, maxChars: number): string {
  const text = message.replace(/\s+/g, " ").trim();
  if (!text) return NEW_CHAT_NAME;
  const graphemes = Array.from(segmenter.segment(text), (s) => s.segment);
  if (graphemes.length <= maxChars) return text;
  const head = graphemes.slice(0, maxChars);
  const nextIsSpace = graphemes[maxChars] === " ";
  const lastSpace = head.lastIndexOf(" ");
  const cut = nextIsSpace ? head : lastSpace > 0 ? head.slice(0, lastSpace) : head;
  return cut.join("").trim();
}

/**
 * The name a session has after a turn: a session's first turn names it from its message, or, when the message has
 * no text and a file is attached, from the file's original name. A session an upload started is still "New Chat"
 * with no history at its first turn, so that turn names it too; any later turn keeps the name.
 */
export function nameAfterTurn(current: { name: string; historyLength: number } | null, message: string, fileName: string | null, maxChars: number): string {
  if (current && (current.historyLength > 0 || current.name !== NEW_CHAT_NAME)) return current.name;
  const fromMessage = sessionNameFrom(message, maxChars);
  return fromMessage === NEW_CHAT_NAME && fileName ? sessionNameFrom(fileName, maxChars) : fromMessage;
}

// Naming a session from its first message (or its first file's name).
import { expect, it } from "vitest";
import { nameAfterTurn, sessionNameFrom } from "../../src/domain/session/session-name";

it.each([
  ["Short question", 40, "Short question"],
  ["one two three four five", 13, "one two three"],
  ["one two three four five", 12, "one two"],
  ["  spaced\n\tout   words  ", 40, "spaced out words"],
  ["abcdefghijklmnopqrstuvwxyz", 10, "abcdefghij"],
  ["日本語のテキストはスペースがありません", 5, "日本語のテ"],
  ["🇫🇷🇩🇪🇮🇹🇪🇸", 2, "🇫🇷🇩🇪"],
  ["", 40, "New Chat"],
  ["   ", 40, "New Chat"],
])("sessionNameFrom(%j, %i) is %j", (message, max, expected) => {
  expect(sessionNameFrom(message, max)).toBe(expected);
});

it.each([
  ["a new session, named by its message", null, "What is in it?", "notes.txt", "What is in it?"],
  ["a new session whose message has no text and no file", null, " ", null, "New Chat"],
  ["an upload's session at its first turn, by its message", { name: "New Chat", historyLength: 0 }, "Summarize this", "notes.txt", "Summarize this"],
  ["an upload's session at its first turn with an empty message, by the file", { name: "New Chat", historyLength: 0 }, "", "q3 report.pdf", "q3 report.pdf"],
  ["a long file name, cut like a message", { name: "New Chat", historyLength: 0 }, "", "a very long file name indeed.txt", "a very long file"],
  ["a named session (say, imported)", { name: "Trip plans", historyLength: 0 }, "Hello", null, "Trip plans"],
  ["a later turn", { name: "New Chat", historyLength: 3 }, "Rename me?", "x.txt", "New Chat"],
])("nameAfterTurn: %s", (_, current, message, fileName, expected) => {
  expect(nameAfterTurn(current, message, fileName, 17)).toBe(expected);
});

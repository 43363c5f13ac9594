// Naming a session from its first message.
import { expect, it } from "vitest";
import { sessionNameFrom } from "../../src/domain/session/session-name";

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

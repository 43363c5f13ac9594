// What a prompt-heavy turn charges (docs/protocol.md 9.4, README "Money"): in full, cancelled mid-reply, after its
// last delta (the agent's cost arrives in a usage chunk after the cancel) and before its first; and that a balance
// below the turn's whole reservation gets no turn, before the agent is called and without a ledger row. The scripted
// agent's "usage:<n>:<ms>" streams like the reference agent's OpenAI mode (test/agents/scripted-agent.ts).
import { describe, expect, it } from "vitest";
import { MessageType } from "../../protocol";
import { testEnv } from "./helpers/env";
import { chargedMicros, SUMMARY_COST, USAGE_PIECE_CHARS } from "../agents/scripted-costs";
import { admin, balanceMicros, chat, committed, createUser, query, quiet, useSockets, type TestSocket } from "./helpers/backend";

const open = useSockets();

/** A 58,000-character system prompt, the size that showed the hole. */
const PROMPT = "You are a careful assistant. Answer in plain English. ".repeat(1100).slice(0, 58_000);
/** 7 pieces of 64 characters, 1 s apart (the agent keeps the call alive meanwhile), then the usage chunk. */
const MESSAGE = "usage:7:1000 heavy";
const PIECES = 7;
// gpt-4-turbo: 10,000 micro-dollars per 1K input tokens, 30,000 per 1K output tokens.
const INPUT_MICROS_PER_TOKEN = 10;
const OUTPUT_MICROS_PER_TOKEN = 30;

/** What the agent reports for the whole call, priced as the reference agent prices (characters / 4 of each text it
 *  was sent: the prompt, the message, the empty history "[]"), sent as float32 dollars. */
const fullPriceMicros = chargedMicros(
  ((Math.ceil(PROMPT.length / 4) + Math.ceil(MESSAGE.length / 4) + Math.ceil("[]".length / 4)) * 0.01 + ((PIECES * USAGE_PIECE_CHARS) / 4) * 0.03) / 1000,
);
/** The rule: the prompt the agent was sent (its characters / 4, rounded up) at the input price, plus the output
 *  delivered (characters / 4) at the output price; what the agent reported if that is more. */
const cancelRule = (deliveredPieces: number) =>
  Math.ceil((PROMPT.length + MESSAGE.length) / 4) * INPUT_MICROS_PER_TOKEN + Math.ceil((deliveredPieces * USAGE_PIECE_CHARS) / 4) * OUTPUT_MICROS_PER_TOKEN;

interface TurnEvent {
  session_id: string;
  event: string;
  text?: string;
}

async function nextEvent(ws: TestSocket): Promise<TurnEvent> {
  const frame = await ws.next();
  expect(frame.type).toBe(MessageType.TurnEvent);
  return frame.data as unknown as TurnEvent;
}

/** Runs the heavy turn on a new session of a new user and cancels it once it has `cancelAfter` deltas (null: never);
 *  returns the turn's ledger charge and what the user got. */
async function heavyTurn(cancelAfter: number | null) {
  const { user_id } = await createUser({ balance: 1 });
  const ws = await open("?v=2");
  ws.send({ type: MessageType.ChatMessage, data: { user_id, session_id: "NEW", model_name: "gpt-4-turbo", message: MESSAGE, session_prompt: PROMPT }, id: "heavy" });
  const start = await nextEvent(ws);
  expect(start.event).toBe("start");
  const sessionId = start.session_id;
  let delivered = "";
  for (let deltas = 0; deltas !== cancelAfter; ) {
    const event = await nextEvent(ws);
    if (event.event !== "delta") {
      expect(event.event).toBe("end");
      break;
    }
    delivered += event.text;
    deltas++;
  }
  if (cancelAfter !== null) {
    ws.send({ type: MessageType.CancelTurn, data: { user_id, session_id: sessionId }, id: "stop" });
    expect(await nextEvent(ws)).toMatchObject({ event: "cancelled" });
  }
  const answer = await ws.next();
  expect(answer).toMatchObject({ type: MessageType.ChatMessage, id: "heavy", data: { session_id: sessionId, message: delivered } });
  expect(answer.data?.cancelled).toBe(cancelAfter === null ? undefined : true);
  await quiet(sessionId);
  const [turn] = await query<{ delta_micros: number }>("select delta_micros from cost_ledger where session_id = ? and kind = 'turn'", sessionId);
  const [ledger] = await query<{ total: number }>("select sum(delta_micros) as total from cost_ledger where user_id = ?", user_id);
  // Every charge has its row: the ledger (the starting credit and the charges) equals the balance.
  expect(ledger?.total).toBe(await balanceMicros(user_id));
  expect(await balanceMicros(user_id)).toBe(1_000_000 + (turn?.delta_micros ?? 0) - chargedMicros(SUMMARY_COST));
  return { chargeMicros: -(turn?.delta_micros ?? 0), deliveredChars: delivered.length };
}

describe("a prompt-heavy turn (a 58,000-character system prompt)", () => {
  it("costs in full what the agent reported in its usage chunk", async () => {
    expect(fullPriceMicros).toBe(148_420);
    expect(await heavyTurn(null)).toEqual({ chargeMicros: fullPriceMicros, deliveredChars: PIECES * USAGE_PIECE_CHARS });
  });

  it("cancelled mid-reply (after 6 of 7 deltas) pays its prompt and the 6 deltas delivered", async () => {
    expect(cancelRule(6)).toBe(147_930);
    expect(await heavyTurn(6)).toEqual({ chargeMicros: cancelRule(6), deliveredChars: 6 * USAGE_PIECE_CHARS });
  });

  it("cancelled after its last delta pays the cost the agent reports after the cancel, when that is more", async () => {
    expect(fullPriceMicros).toBeGreaterThan(cancelRule(PIECES));
    expect(await heavyTurn(PIECES)).toEqual({ chargeMicros: fullPriceMicros, deliveredChars: PIECES * USAGE_PIECE_CHARS });
  });

  it("cancelled before its first delta pays its prompt", async () => {
    expect(cancelRule(0)).toBe(145_050);
    expect(await heavyTurn(0)).toEqual({ chargeMicros: cancelRule(0), deliveredChars: 0 });
  });
});

describe("a turn runs only if its whole reservation fits", () => {
  async function agentCalls(sessionId: string): Promise<{ process: number; processStream: number }> {
    return (await testEnv.AGENT.fetch(`http://agent.test/__calls?session_id=${sessionId}`)).json();
  }

  it("refuses a dust balance with code 15 before the agent is called, writing nothing", async () => {
    const { user_id } = await createUser({ balance: 1 });
    const ws = await open();
    const sessionId = (await chat(ws, user_id, "NEW", "brief first")).data?.session_id as string;
    await quiet(sessionId);
    expect((await admin("PATCH", `/admin/users/${user_id}`, { balance: 0.000001 })).status).toBe(200);
    const calls = await agentCalls(sessionId);
    const ledger = await query("select id, kind, delta_micros from cost_ledger where user_id = ? order by id", user_id);
    const history = await query("select seq from messages where session_id = ?", sessionId);

    // The text stays the original's; the detail says what the turn reserves and what is left for it.
    const refused = { error: "Insufficient balance", code: 15, type: MessageType.ChatMessage, detail: expect.stringMatching(/this turn reserves \$[\d.]+ .* the balance leaves \$0\.000001 for it/) };
    expect(await chat(ws, user_id, sessionId, "brief one more")).toEqual(refused);
    expect(await chat(ws, user_id, "NEW", "brief a new one")).toEqual(refused);
    await committed(sessionId);
    expect(await agentCalls(sessionId)).toEqual(calls);
    expect(await query("select id, kind, delta_micros from cost_ledger where user_id = ? order by id", user_id)).toEqual(ledger);
    expect(await query("select seq from messages where session_id = ?", sessionId)).toEqual(history);
    expect(await query("select id from sessions where user_id = ?", user_id)).toHaveLength(1);
    expect(await balanceMicros(user_id)).toBe(1);
  });

  it("refuses a heavy turn whose reservation is above the balance, though its price is below it; a light turn runs", async () => {
    // This heavy turn reserves 677,460 micro-dollars: (58,011 characters / 3, rounded up, + 200 framing) tokens in
    // and 4,096 out, for the turn and again (with the reply) for its summary; its price would be about 148,400.
    const { user_id } = await createUser({ balance: 0.5 });
    const ws = await open();
    const heavy = { model_name: "gpt-4-turbo", session_prompt: PROMPT };
    expect(await chat(ws, user_id, "NEW", "brief heavy", heavy)).toMatchObject({ error: "Insufficient balance", code: 15 });
    expect(await query("select id from sessions where user_id = ?", user_id)).toEqual([]);
    expect(await chat(ws, user_id, "NEW", "brief light")).not.toHaveProperty("error");
  });
});

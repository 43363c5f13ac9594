// Builds a database with the original system's schema (scripts/lib/original-schema.sql) and fills it with users
// and sessions of several sizes: no chat_details row, an empty history, short and long histories, file entries,
// and histories grown through the original's append trigger; every NOT NULL column of the original filled the
// way the original filled it. For the import's tests, its benchmark and sync:original's test.
import { readFileSync } from "node:fs";
import path from "node:path";
import postgres from "postgres";
import { root } from "./lib.ts";
import { databaseUrl } from "./postgres.ts";

/** History sizes cycled through the sessions; -1 means "no chat_details row at all". */
export const HISTORY_SIZES: number[] = [-1, 0, 2, 3, 6, 40];
const MODELS: [number, string, number][] = [[0, "gpt-3.5-turbo-0125", 16385], [4, "gpt-4-turbo", 128000], [8, "llama3.1:8b", 4096], [42, "custom-model", 2048]];

export interface OriginalFixtureOptions {
  sessions?: number;
  usersEvery?: number;
}

/** What createOriginalDatabase made: its URL and how many rows of each kind it holds. */
export interface OriginalDatabase {
  url: string;
  users: number;
  sessions: number;
  entries: number;
  files: number;
}

type HistoryEntry = { role: "user" | "assistant" | "file"; content: string };

function history(size: number, sessionIndex: number): HistoryEntry[] {
  const entries: HistoryEntry[] = [];
  for (let i = 0; entries.length < size; i++) {
    entries.push({ role: "user", content: `question ${i} of session ${sessionIndex}` });
    if (entries.length < size) entries.push({ role: "assistant", content: `answer ${i} — "quoted", it's fine` });
    if (i === 0 && size >= 6) entries.push({ role: "file", content: `s${sessionIndex}-report.pdf` });
  }
  return entries;
}

/** (Re)creates `database` on the server with the original's schema and nothing in it; returns its URL. */
export async function createOriginalSchema(serverUrl: string, database: string): Promise<string> {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists "${database}" with (force)`);
    await admin.unsafe(`create database "${database}"`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(serverUrl, database);
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    // Sent as one simple query, like psql sends the original's file: the DO block, then its COMMIT.
    await sql.unsafe(readFileSync(path.join(root, "scripts/lib/original-schema.sql"), "utf8"));
  } finally {
    await sql.end();
  }
  return url;
}

/** A user of the original the schema allows but its README never makes: no grants, no balance (both NULL). */
export const USER_WITHOUT_GRANTS = "Original User without grants";

/** (Re)creates `database` on the server and fills it; returns its URL and what it holds. */
export async function createOriginalDatabase(
  serverUrl: string,
  database: string,
  { sessions = 30, usersEvery = 10 }: OriginalFixtureOptions = {},
): Promise<OriginalDatabase> {
  const url = await createOriginalSchema(serverUrl, database);
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  try {
    await sql`insert into model_details ${sql(MODELS.map(([model_id, model_name, context_length]) => ({ model_id, model_name, context_length })))}`;
    const userCount = Math.max(1, Math.ceil(sessions / usersEvery));
    const users = await sql<{ user_id: string }[]>`
      insert into user_data ${sql(
        Array.from({ length: userCount }, (_, i) => ({ username: `Original User ${i}`, models: sql.array(i % 2 ? [4, 8, 42, 99] : [0], 23), balance: 1.25 + i / 1000 })),
      )} returning user_id::text`;
    await sql`insert into user_data (username, models, balance) values (${USER_WITHOUT_GRANTS}, null, null)`;
    let entries = 0;
    let files = 0;
    for (let start = 0; start < sessions; start += 1000) {
      const page = Array.from({ length: Math.min(1000, sessions - start) }, (_, k) => start + k);
      const sessionRows = page.map((i) => ({
        session_id: crypto.randomUUID(),
        session_name: i % 7 === 3 ? "" : `Session ${i}`,
        user_id: users[i % userCount]!.user_id,
        model_id: i % 2 ? 4 : 8,
        created_at: new Date(Date.UTC(2024, 0, 1) + i * 60_000),
      }));
      await sql`insert into session_details ${sql(sessionRows)}`;
      const chatRows: { session_id: string; session_prompt: string; chats_summary: string; chats: ReturnType<typeof sql.json> }[] = [];
      const fileRows: { session_id: string; file_name: ReturnType<typeof sql.array> }[] = [];
      page.forEach((i, k) => {
        const size = HISTORY_SIZES[i % HISTORY_SIZES.length]!;
        if (size < 0) return;
        const chats = history(size, i);
        entries += chats.length;
        chatRows.push({ session_id: sessionRows[k]!.session_id, session_prompt: i % 3 ? `Prompt ${i}` : "", chats_summary: size ? `Summary ${i}` : "", chats: sql.json(chats) });
        const names = chats.filter((c) => c.role === "file").map((c) => c.content);
        if (names.length > 0) {
          files += names.length;
          fileRows.push({ session_id: sessionRows[k]!.session_id, file_name: sql.array(names) });
        }
      });
      if (chatRows.length > 0) await sql`insert into chat_details ${sql(chatRows)}`;
      if (fileRows.length > 0) await sql`insert into file_data ${sql(fileRows)}`;
    }
    // Grow one history through the original's append-on-update trigger.
    const [grown] = await sql<{ session_id: string }[]>`select session_id from chat_details where jsonb_array_length(chats) = 2 limit 1`;
    if (grown) {
      await sql`update chat_details set chats = ${sql.json([{ role: "user", content: "appended" }, { role: "assistant", content: "by the trigger" }])} where session_id = ${grown.session_id}`;
      entries += 2;
    }
    return { url, users: userCount + 1, sessions, entries, files };
  } finally {
    await sql.end();
  }
}

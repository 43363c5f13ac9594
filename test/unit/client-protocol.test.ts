// Keeps the client library's wire types (client/protocol.ts) in step with the backend's, and its entry Node-free.
// Message types, error codes, turn events and request data are compared with src/.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, expectTypeOf, it } from "vitest";
import type { z } from "zod";
import * as client from "chat-backend/client";
import { ErrorCode } from "../../src/domain/errors";
import type { TurnEvent as ServerTurnEvent } from "../../src/domain/session/turn-events";
import { CREDENTIAL_ENDED } from "../../src/transport/ws/credential-watch";
import { chatMessageRequest, MessageType, resumeRequest, sessionRequest, userRequest } from "../../src/transport/ws/frames";

describe("the client's wire types", () => {
  it("name the backend's message types, error codes and close code, and no others", () => {
    expect(client.MessageType).toEqual(MessageType);
    expect(client.ErrorCode).toEqual(ErrorCode);
    expect(client.CloseCode).toEqual({ CredentialEnded: CREDENTIAL_ENDED });
  });

  it("describe the backend's turn events exactly", () => {
    expectTypeOf<client.TurnEvent>().toEqualTypeOf<ServerTurnEvent>();
  });

  it("make request data the backend's schemas accept", () => {
    const user = { user_id: "u1" };
    const session = { ...user, session_id: "3b0c1c9e-7d1a-4f43-9a8e-0f2a5b6c7d8e" };
    const samples: { [T in client.RequestType]: { schema: z.ZodType; data: Required<Pick<client.Requests[T], "user_id">> & client.Requests[T] } } = {
      0: { schema: userRequest, data: user },
      1: { schema: userRequest, data: user },
      2: { schema: sessionRequest, data: session },
      3: { schema: chatMessageRequest, data: { ...user, session_id: "NEW", model_name: "gpt-4-turbo", model_id: null, message: "hi", session_prompt: "", file_name: null } },
      4: { schema: sessionRequest, data: session },
      5: { schema: userRequest, data: user },
      6: { schema: userRequest, data: user },
      8: { schema: resumeRequest, data: { ...session, turn: 0, after_seq: -1 } },
      9: { schema: sessionRequest, data: session },
    };
    for (const { schema, data } of Object.values(samples)) expect(schema.safeParse(data).success).toBe(true);
    // Every field the backend reads is one the client can send.
    expectTypeOf<client.ChatMessageRequest>().toExtend<Partial<z.input<typeof chatMessageRequest>>>();
    expectTypeOf<Required<client.ResumeRequest>>().toEqualTypeOf<z.input<typeof resumeRequest>>();
    expectTypeOf<Required<client.SessionRequest>>().toEqualTypeOf<z.input<typeof sessionRequest>>();
    expectTypeOf<Required<client.UserRequest>>().toEqualTypeOf<z.input<typeof userRequest>>();
  });
});

it("keeps the browser entry free of Node and of the backend: only client/node.ts may load `ws`", () => {
  const dir = path.join(import.meta.dirname, "../../client");
  // Packages that run in a browser as they are: zod (validation), the AI SDK's types (client/ai-sdk*.ts) and Hono's
  // client (http-api.ts). Type-only imports (the backend's route declarations) load nothing.
  const browserPackages = new Set(["zod", "ai", "hono/client"]);
  for (const file of readdirSync(dir).filter((name) => name.endsWith(".ts") && name !== "node.ts")) {
    const loaded = readFileSync(path.join(dir, file), "utf8").replace(/^import type [^;]+;$/gm, "");
    const imports = [...loaded.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((m) => m[1]);
    expect(imports.filter((specifier) => !specifier?.startsWith("./") && !browserPackages.has(specifier!)), file).toEqual([]);
  }
});

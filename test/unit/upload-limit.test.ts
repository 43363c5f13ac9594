// The upload size limit is enforced while the body arrives, with or without Content-Length, before anything is
// stored: these requests reach no session object (the test app has none to reach).
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config";
import type { AppEnv } from "../../src/transport/http/app-env";
import { renderFailure } from "../../src/transport/http/failures";
import { fileRoutes } from "../../src/transport/http/file-routes";

const config = parseConfig({ MAX_FILE_SIZE: "1" }, { AGENT: {} as Fetcher, DB: {} as D1Database });
const app = new Hono<AppEnv>()
  .use("*", async (c, next) => {
    c.set("config", config);
    await next();
  })
  .route("/", fileRoutes)
  .onError(renderFailure);

function form(bytes: number): FormData {
  const body = new FormData();
  body.set("file", new File([new Uint8Array(bytes)], "big.bin"));
  for (const [name, value] of Object.entries({ user_id: "u", session_id: "NEW", model_name: "gpt-4-turbo" })) body.set(name, value);
  return body;
}

async function post(bytes: number, streamed: boolean): Promise<Response> {
  const encoded = new Response(form(bytes));
  const payload = new Uint8Array(await encoded.arrayBuffer());
  const headers = { "content-type": encoded.headers.get("content-type")! };
  if (!streamed) return app.request("/upload", { method: "POST", headers, body: payload });
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < payload.length; i += 64 * 1024) controller.enqueue(payload.slice(i, i + 64 * 1024));
      controller.close();
    },
  });
  return app.request("/upload", { method: "POST", headers, body, duplex: "half" } as RequestInit);
}

describe.each([false, true])("POST /upload (streamed without Content-Length: %s)", (streamed) => {
  it("refuses a body larger than the limit with 400 naming the limit", async () => {
    const response = await post(2 * 1024 * 1024, streamed);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ message: "File too large: the limit is 1 MB", data: null });
  });

  it("refuses a file just over the limit that fits the multipart allowance", async () => {
    const response = await post(1024 * 1024 + 1, streamed);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toBe("File too large: the limit is 1 MB");
  });
});

it("refuses a body that is not multipart with a clear message", async () => {
  const response = await app.request("/upload", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  expect(response.status).toBe(400);
  expect(await response.json()).toEqual({ message: "Expected a well-formed multipart/form-data body", data: null });
});

// The HTTP surface: health, CORS, and the WebSocket route refusing what is not an upgrade.
import { expect, it } from "vitest";
import { configOf } from "../../src/config";
import { backendFetch } from "./helpers/backend";
import { testEnv } from "./helpers/env";

it("GET /healthz answers 200 with a JSON status, the storage engine and how clients sign in", async () => {
  const response = await backendFetch("/healthz");
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ status: "ok", storage: configOf(testEnv).STORAGE, auth: "none" });
});

it("answers CORS preflights from any origin by default", async () => {
  const response = await backendFetch("/admin/users", {
    method: "OPTIONS",
    headers: { Origin: "http://localhost:3000", "Access-Control-Request-Method": "POST" },
  });
  expect(response.status).toBe(204);
  expect(response.headers.get("access-control-allow-origin")).toBe("*");
});

it("GET /ws without an upgrade answers 426", async () => {
  const response = await backendFetch("/ws");
  expect(response.status).toBe(426);
});

it("unknown routes answer 404 JSON", async () => {
  const response = await backendFetch("/nope");
  expect(response.status).toBe(404);
  expect(await response.json()).toEqual({ message: "Not found", data: null });
});

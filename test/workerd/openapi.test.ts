// The OpenAPI document: every REST route the Hono app registers is in /openapi.json and nothing else is; the
// document is OpenAPI 3.x in shape (paths, operations, parameters, components, resolvable $refs); /docs is one
// self-contained page.
import { describe, expect, it } from "vitest";
import { app } from "../../src/transport/http/app";
import { backendFetch } from "./helpers/backend";

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: unknown;
}

interface Operation {
  summary?: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema?: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema?: unknown }> }>;
  security?: Record<string, string[]>[];
}

interface Document {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, { type: string }> };
}

async function openApi(): Promise<Document> {
  const response = await backendFetch("/openapi.json");
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("application/json");
  return (await response.json()) as Document;
}

const operations = (doc: Document) =>
  Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => ({ path, method, operation })));

describe("/openapi.json", () => {
  it("documents exactly the REST routes the app registers (method and path)", async () => {
    const doc = await openApi();
    // Middleware (app.use) is registered as method ALL; a route with middleware appears once per handler.
    const registered = new Set(
      app.routes
        .filter((route) => METHODS.includes(route.method.toLowerCase()))
        .map((route) => `${route.method.toUpperCase()} ${route.path.replace(/:([^/]+)/g, "{$1}")}`),
    );
    const documented = new Set(operations(doc).map(({ path, method }) => `${method.toUpperCase()} ${path}`));
    expect([...registered].filter((route) => !documented.has(route))).toEqual([]);
    expect([...documented].filter((route) => !registered.has(route))).toEqual([]);
    for (const route of ["GET /healthz", "GET /ws", "POST /upload", "GET /uploads/{fileName}", "GET /files/{fileName}", "GET /admin/users", "POST /admin/models/{model_id}/retire", "DELETE /admin/users/{user_id}/keys/{key_id}"]) {
      expect(documented).toContain(route);
    }
  });

  it("is OpenAPI 3.x in shape: operations with answers, path parameters declared, every $ref resolvable", async () => {
    const doc = await openApi();
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(["Failure", "User", "Model", "LedgerEntry", "ApiKey"]));
    for (const { path, method, operation } of operations(doc)) {
      const where = `${method} ${path}`;
      expect(path, where).toMatch(/^\//);
      // Summaries and descriptions are what /docs shows: words, not placeholders.
      expect(operation.summary, where).toMatch(/^[A-Z].*\w{3,}/);
      expect(Object.keys(operation.responses).length, where).toBeGreaterThan(0);
      for (const [status, response] of Object.entries(operation.responses)) {
        expect(status, where).toMatch(/^[1-5]\d\d$/);
        expect(response.description, where).toMatch(/\w{2,}/);
      }
      const pathParams = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const declared = (operation.parameters ?? []).filter((p) => p.in === "path");
      expect(declared.map((p) => p.name).sort(), where).toEqual(pathParams.sort());
      expect(declared.every((p) => p.required === true), where).toBe(true);
      for (const parameter of operation.parameters ?? []) {
        expect(["path", "query", "header", "cookie"], where).toContain(parameter.in);
        // A schema a client can generate a type from.
        expect(Object.keys(parameter.schema ?? {}), `${where} ${parameter.name}`).toEqual(expect.arrayContaining([expect.stringMatching(/^(type|\$ref|anyOf|oneOf|enum)$/)]));
      }
    }
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/(\w+)\/([^"]+)"/g)];
    expect(refs.length).toBeGreaterThan(0);
    for (const [, kind, name] of refs) expect(doc.components[kind as keyof Document["components"]], `${kind}/${name}`).toHaveProperty(name!);
  });

  it("documents the one failure body on every failure status, and the admin token on every admin route", async () => {
    const doc = await openApi();
    expect(doc.components.schemas.Failure).toMatchObject({ type: "object", required: ["message", "data"] });
    for (const { path, method, operation } of operations(doc)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        // The health check's 503 is its own answer ({status, storage}), not a failure.
        if (Number(status) < 400 || `${method} ${path} ${status}` === "get /healthz 503") continue;
        expect(response.content?.["application/json"]?.schema, `${method} ${path} ${status}`).toEqual({ $ref: "#/components/schemas/Failure" });
      }
      if (path.startsWith("/admin/")) {
        expect(operation.security, `${method} ${path}`).toEqual([{ adminToken: [] }]);
        expect(operation.responses, `${method} ${path}`).toHaveProperty("401");
      }
    }
    expect(doc.components.securitySchemes.adminToken).toMatchObject({ type: "http", scheme: "bearer" });
  });

  it("documents the WebSocket upgrade with its query parameters", async () => {
    const ws = (await openApi()).paths["/ws"]?.get;
    expect(ws?.responses).toHaveProperty("101");
    expect(ws?.parameters?.map((p) => `${p.in} ${p.name}`).sort()).toEqual(["query token", "query user_id", "query v"]);
  });

  it("with AUTH_MODE=none, names no user credential", async () => {
    const doc = await openApi();
    expect(Object.keys(doc.components.securitySchemes)).toEqual(["adminToken"]);
    expect(JSON.stringify(doc.paths)).not.toContain("userCredential");
  });
});

it("GET /docs is one page that reads /openapi.json with no outside asset", async () => {
  const response = await backendFetch("/docs");
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("text/html");
  const html = await response.text();
  expect(html).toContain('fetch("openapi.json")');
  expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
  expect(html).not.toMatch(/@import|<link /);
});

it("the routes declared for the document read a repeated query parameter as before: its first value", async () => {
  expect((await backendFetch("/ws?user_id=a&user_id=b&v=2&v=1")).status).toBe(426);
  expect((await backendFetch("/files/unknown.png?expires=1&expires=2&signature=x&signature=y")).status).toBe(403);
});

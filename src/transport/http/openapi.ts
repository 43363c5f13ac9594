// Owns the OpenAPI document of the HTTP routes: built from every route's zod schemas, served at /openapi.json and
// read at /docs (the pieces each route declares are in route-parts.ts).
import { createRoute, type OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import { z } from "zod";
import type { AuthSettings } from "../../config";
import type { AppEnv } from "./app-env";
import { DOCS_PAGE } from "./docs-page";
import { ADMIN_TOKEN, jsonAnswer, USER_CREDENTIAL, USER_CREDENTIAL_QUERY, USER_SCHEMES } from "./route-parts";

/**
 * For a route whose handler validates its request itself with the schemas `route` declares (an upload read under a
 * size limit, answering with the wire contract's own messages): `route` goes into the document as it is, and what
 * is registered to serve it validates nothing.
 */
export function validatedByHandler<R extends RouteConfig>(app: OpenAPIHono<AppEnv>, route: R): Omit<R, "request"> & { hide: true } {
  const { middleware: _served, hide: _hidden, ...documented } = route;
  app.openAPIRegistry.registerPath(documented);
  const { request: _validated, ...served } = route;
  return { ...served, hide: true };
}

const DOCUMENT_INFO = {
  title: "Chat-Backend HTTP API",
  version: "1",
  description:
    "The HTTP routes of Chat-Backend: health, the WebSocket upgrade, files and the admin API. The WebSocket messages " +
    "are described in docs/protocol.md. Every failure is JSON {\"message\", \"data\": null} with a status.",
};

/** Registers the security schemes and serves the document (/openapi.json) and its reader (/docs). Call it once
 *  every route is on `app`. */
export function serveOpenApi(app: OpenAPIHono<AppEnv>): void {
  const registry = app.openAPIRegistry;
  registry.registerComponent("securitySchemes", ADMIN_TOKEN, {
    type: "http",
    scheme: "bearer",
    description: "The ADMIN_TOKEN secret. Missing or wrong: 401; ADMIN_TOKEN unset: 503.",
  });
  registry.registerComponent("securitySchemes", USER_CREDENTIAL, {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT or API key (cbk_…)",
    description: "AUTH_MODE=token: a JWT whose `sub` is the user id, or an API key the admin API issued.",
  });
  registry.registerComponent("securitySchemes", USER_CREDENTIAL_QUERY, {
    type: "apiKey",
    in: "query",
    name: "token",
    description: "AUTH_MODE=token, WebSocket upgrades only (browsers cannot set headers): the credential as ?token=.",
  });

  const documents = new Map<AuthSettings["mode"], Record<string, unknown>>();
  app.openapi(documentRoute, (c) => {
    const mode = c.var.config.auth.mode;
    let document = documents.get(mode);
    if (!document) {
      document = forAuthMode(app.getOpenAPI31Document({ openapi: "3.1.0", info: DOCUMENT_INFO }), mode);
      documents.set(mode, document);
    }
    return c.json(document, 200);
  });
  app.openapi(docsRoute, (c) => c.html(DOCS_PAGE));
}

const documentRoute = createRoute({
  method: "get",
  path: "/openapi.json",
  tags: ["documentation"],
  summary: "This document (OpenAPI 3.1)",
  description: "Built from the zod schemas the routes validate with. With AUTH_MODE=none it names no user credential.",
  responses: { 200: jsonAnswer("The OpenAPI document", z.record(z.string(), z.unknown())) },
});

const docsRoute = createRoute({
  method: "get",
  path: "/docs",
  tags: ["documentation"],
  summary: "This document, readable in a browser",
  description: "One self-contained HTML page (no outside asset) that renders /openapi.json.",
  responses: { 200: { description: "The page", content: { "text/html": { schema: z.string() } } } },
});

interface Operation {
  security?: Record<string, string[]>[];
}

/** With AUTH_MODE=none no route takes a user's credential: their security requirements and schemes go. */
function forAuthMode<D extends { paths?: object; components?: { securitySchemes?: object } }>(document: D, mode: AuthSettings["mode"]): D & Record<string, unknown> {
  if (mode === "token") return document as D & Record<string, unknown>;
  const withoutUser = structuredClone(document);
  for (const item of Object.values(withoutUser.paths ?? {}) as Record<string, Operation>[]) {
    for (const operation of Object.values(item)) {
      const kept = operation.security?.filter((requirement) => !Object.keys(requirement).some((name) => USER_SCHEMES.includes(name)));
      // Nothing but "no credential" left: the route takes none.
      if (kept?.some((requirement) => Object.keys(requirement).length > 0)) operation.security = kept;
      else delete operation.security;
    }
  }
  const schemes = withoutUser.components?.securitySchemes as Record<string, unknown> | undefined;
  for (const name of USER_SCHEMES) delete schemes?.[name];
  return withoutUser as D & Record<string, unknown>;
}

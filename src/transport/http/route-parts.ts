// Owns the pieces every HTTP route declaration uses: the one failure body and its statuses, JSON answers, the
// security requirements; and what Hono's client reads of a list of declarations. Plain zod, nothing of the Worker, so
// the declarations that use it can be read outside the Worker too (the typed client, client/http-api.ts).
import type { RouteConfig, RouteConfigToTypedResponse, RouteHandler } from "@hono/zod-openapi";
import type { Handler, ToSchema } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";

/** The one failure body (failures.ts renders every failure so). */
export const failureSchema = z
  .object({
    message: z.string().meta({ description: "What went wrong, for people", example: "User not found" }),
    data: z.null(),
    detail: z
      .string()
      .optional()
      .meta({ description: "When known: what exactly was wrong and what to do next", example: "no user with id 3b0c1c9e-…" }),
  })
  .meta({ id: "Failure", description: 'Every failure: {"message", "data": null, "detail"?} with the status of its kind' });

type FailureResponses<D> = {
  [K in keyof D]: { description: string; content: { "application/json": { schema: typeof failureSchema } } };
};

/** Failure responses of a route: status → when it happens. */
export function failures<D extends Partial<Record<ContentfulStatusCode, string>>>(described: D): FailureResponses<D> {
  const entries = Object.entries(described).map(([status, description]) => [
    status,
    { description: String(description), content: { "application/json": { schema: failureSchema } } },
  ]);
  return Object.fromEntries(entries) as FailureResponses<D>;
}

/** A JSON answer of a route. */
export function jsonAnswer<T extends z.ZodType>(description: string, schema: T) {
  return { description, content: { "application/json": { schema } } };
}

/** Security scheme names routes refer to. */
export const ADMIN_TOKEN = "adminToken";
export const USER_CREDENTIAL = "userCredential";
export const USER_CREDENTIAL_QUERY = "userCredentialQuery";
export const USER_SCHEMES = [USER_CREDENTIAL, USER_CREDENTIAL_QUERY];

type Security = Record<string, string[]>[];
export const adminSecurity: Security = [{ [ADMIN_TOKEN]: [] }];
/** Routes that need a user's credential with AUTH_MODE=token (left out of the document with AUTH_MODE=none). */
export const userSecurity: Security = [{ [USER_CREDENTIAL]: [] }];
/** A user's credential, or a signed link: the requirement is optional. */
export const userOrSignedSecurity: Security = [{ [USER_CREDENTIAL]: [] }, {}];
/** The WebSocket upgrade: the credential as a header or as ?token=. */
export const socketSecurity: Security = [{ [USER_CREDENTIAL]: [] }, { [USER_CREDENTIAL_QUERY]: [] }];

type InputOf<R extends RouteConfig> = RouteHandler<R> extends Handler<infer _E, infer _P, infer I> ? I : never;
/** A declared route (createRoute's, which knows its path in Hono's form). */
type Declared = RouteConfig & { getRoutingPath(): string };

/** The schema Hono's client (hc) reads for these route declarations: each route's path, parameters, body and answers
 *  per status, as OpenAPIHono computes them when the Worker serves the routes. */
export type RoutesSchema<R extends readonly Declared[]> = R extends readonly [infer First extends Declared, ...infer Rest extends Declared[]]
  ? ToSchema<First["method"], ReturnType<First["getRoutingPath"]>, InputOf<First>, RouteConfigToTypedResponse<First>> & RoutesSchema<Rest>
  : {};

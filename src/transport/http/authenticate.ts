// Owns who an HTTP request's user is. With AUTH_MODE=token a request carries a credential (Authorization: Bearer, or
// ?token= on /ws, where browsers cannot set headers) that must prove a user, else 401 before any Durable Object
// wakes; with AUTH_MODE=none there is no user (routes trust the user_id they are sent, as the original did).
import type { MiddlewareHandler } from "hono";
import { CredentialRefused, proveCredential } from "../../domain/accounts/credentials";
import type { AppEnv } from "./app-env";
import { httpFailure } from "./failures";

export interface AuthenticateOptions {
  /** Accept the credential as `?token=` (WebSocket upgrades from browsers). */
  fromQuery?: boolean;
  /** Let a request without a credential through as nobody (the route has another proof, e.g. a signed URL). */
  optional?: boolean;
}

/** Where a credential comes from and how to send it. */
function missingCredentialDetail(fromQuery: boolean): string {
  const how = fromQuery ? "send it as Authorization: Bearer <credential> or ?token=<credential>" : "send it as Authorization: Bearer <credential>";
  return `AUTH_MODE is token: a credential is a JWT (sub = the user id, exp required) or an API key (npm run admin -- keys create <user_id>); ${how}`;
}

export function authenticate({ fromQuery = false, optional = false }: AuthenticateOptions = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const auth = c.var.config.auth;
    c.set("user", null);
    c.set("credential", null);
    if (auth.mode === "none") return next();
    const credential = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1] ?? (fromQuery ? c.req.query("token") : undefined);
    if (!credential) {
      if (optional) return next();
      throw httpFailure(401, "Missing credential: send Authorization: Bearer <credential>", missingCredentialDetail(fromQuery));
    }
    try {
      const proven = await proveCredential(credential, auth, c.var.store);
      c.set("user", proven.userId);
      c.set("credential", proven);
    } catch (error) {
      if (error instanceof CredentialRefused) throw httpFailure(401, error.message, error.detail);
      throw error;
    }
    return next();
  };
}

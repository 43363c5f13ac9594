// Owns the typed client of the backend's HTTP API (the admin API and the upload): Hono's client (hc) over the routes'
// own declarations (src/transport/http/admin-api.ts, file-api.ts), so a call's path, parameters, body and answer are
// checked against what the Worker serves; reading an answer or its failure; and the one way to create a user.
import { DetailedError, hc, parseResponse, type ClientResponse, type InferRequestType } from "hono/client";
import type { AdminApi } from "../src/transport/http/admin-api";
import type { FileApi } from "../src/transport/http/file-api";

/** The routes under /admin, e.g. `api.users[":user_id"].$get({ param: pathParams({ user_id }) })`. */
export type AdminClient = ReturnType<typeof hc<AdminApi>>["admin"];

/** POST /upload and the stored files' routes. */
export type FileClient = ReturnType<typeof hc<FileApi>>;

/** A user to create, as POST /admin/users takes it. */
export type NewUser = InferRequestType<AdminClient["users"]["$post"]>["json"];

/** Changes of a user, as PATCH /admin/users/:user_id takes them. */
export type UserChanges = InferRequestType<AdminClient["users"][":user_id"]["$patch"]>["json"];

export interface HttpClientOptions {
  /** Sent as the bearer token: the ADMIN_TOKEN for the admin API, a user's credential for an upload. */
  token?: string;
  /** Where requests go instead of the global fetch (a test's Worker, a CLI's checks). */
  fetch?: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
}

function clientOptions({ token, fetch }: HttpClientOptions) {
  return { ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }), ...(fetch ? { fetch } : {}) };
}

/** The admin API of the backend at `baseUrl` (paths are resolved under it: give its origin). */
export function adminClient(baseUrl: string, options: HttpClientOptions & { token: string }): AdminClient {
  return hc<AdminApi>(baseUrl, clientOptions(options)).admin;
}

/** The upload and file routes of the backend at `baseUrl`. */
export function fileClient(baseUrl: string, options: HttpClientOptions = {}): FileClient {
  return hc<FileApi>(baseUrl, clientOptions(options));
}

/** Path parameters as the URL carries them: hc puts them in as they are, so each is encoded here. */
export function pathParams<P extends Record<string, string>>(params: P): P {
  return Object.fromEntries(Object.entries(params).map(([name, value]) => [name, encodeURIComponent(value)])) as P;
}

/** The backend refused a request: its status and the failure's message (every HTTP failure's body has one). */
export class HttpApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HttpApiError";
  }
}

/** The answer of a call that succeeded, typed by its route; HttpApiError with the failure's message otherwise (or the
 *  status and text of an answer that is not the API's, e.g. a proxy's). */
export async function answer<R extends ClientResponse<unknown>>(call: R | Promise<R>) {
  try {
    return await parseResponse(call);
  } catch (error) {
    if (!(error instanceof DetailedError)) throw error;
    const status = Number(error.statusCode);
    const body = (error.detail as { data?: unknown } | undefined)?.data;
    if (typeof body === "object" && body !== null && "message" in body) throw new HttpApiError(status, String(body.message));
    throw new HttpApiError(status, `${status} ${typeof body === "string" ? body : JSON.stringify(body ?? "")}`);
  }
}

/** Creates a user (POST /admin/users): the user as the API answers it, with its `user_id`. */
export function createUser(api: AdminClient, user: NewUser) {
  return answer(api.users.$post({ json: user }));
}

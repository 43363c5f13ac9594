// Owns saying why a WebSocket could not be opened. A WebSocket's error event tells nothing (browsers hide the
// refusal on purpose), so the same URL is asked once more without the upgrade, as the chat page does: the server
// then answers its refusal (status and message) or, failing that, the network error's code says refused, DNS or
// timeout. The URL shown never carries the credential.
import { ChatClientError, type ConnectionCause, type ConnectionFailure } from "./errors";

/** How long opening a socket may take before it counts as a timeout (ClientOptions.connectTimeoutMs). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** How long the diagnosing request may take. */
const PROBE_TIMEOUT_MS = 5_000;

type Fetch = (url: string, init: { signal: AbortSignal }) => Promise<Response>;

/** The URL as it may be shown: a `token` parameter's value replaced. */
export function shownUrl(socketUrl: string): string {
  const url = new URL(socketUrl);
  if (url.searchParams.has("token")) url.searchParams.set("token", "***");
  return url.href;
}

/** Why the socket to `socketUrl` did not open: `timedOut` when it gave no sign within the connect timeout. */
export async function connectionFailure(socketUrl: string, timedOut: { afterMs: number } | null, fetcher: Fetch = globalFetch): Promise<ChatClientError> {
  const url = shownUrl(socketUrl);
  if (timedOut) return failure({ url, cause: "timeout" }, `no answer within ${seconds(timedOut.afterMs)} (is the host reachable, or a firewall dropping the connection?)`);
  const httpUrl = socketUrl.replace(/^ws/, "http");
  let response: Response;
  try {
    response = await fetcher(httpUrl, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  } catch (error) {
    return networkFailure(url, error);
  }
  const { message, detail } = await refusalOf(response);
  // 426 "Expected a WebSocket upgrade": the server would have upgraded; something between failed the handshake.
  if (response.status === 426) return failure({ url, cause: "network" }, "the server answers HTTP there but the WebSocket handshake failed (a proxy that does not pass WebSockets?)");
  const said = [message, detail].filter(Boolean).join(": ");
  return failure(
    { url, cause: "http", status: response.status, ...(message ? { serverMessage: message } : {}), ...(detail ? { serverDetail: detail } : {}) },
    `the server refused the WebSocket: HTTP ${response.status}${said ? ` ${said}` : ""}`,
  );
}

function failure(connection: ConnectionFailure, why: string): ChatClientError {
  return new ChatClientError("disconnected", `could not connect to ${connection.url}: ${why}`, connection);
}

function networkFailure(url: string, error: unknown): ChatClientError {
  const code = errorCode(error);
  const host = new URL(url).host;
  const causes: Record<string, [ConnectionCause, string]> = {
    ECONNREFUSED: ["refused", `connection refused: nothing listens on ${host} (is the backend running? npm run dev)`],
    ENOTFOUND: ["dns", `the host name ${new URL(url).hostname} does not resolve (DNS)`],
    EAI_AGAIN: ["dns", `the host name ${new URL(url).hostname} could not be resolved (DNS)`],
    ETIMEDOUT: ["timeout", `no answer from ${host} (timeout)`],
    UND_ERR_CONNECT_TIMEOUT: ["timeout", `no answer from ${host} (timeout)`],
    TimeoutError: ["timeout", `no answer from ${host} within ${seconds(PROBE_TIMEOUT_MS)}`],
  };
  const known = code === undefined ? undefined : causes[code];
  if (known) return failure({ url, cause: known[0] }, known[1]);
  return failure({ url, cause: "network" }, `${describe(error)}${code ? ` (${code})` : ""}`);
}

/** The network error's code (Node's fetch puts it on `cause`), or a timeout's name. */
function errorCode(error: unknown): string | undefined {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) return "TimeoutError";
  const cause = error instanceof Error ? (error.cause as { code?: unknown; cause?: { code?: unknown } } | undefined) : undefined;
  const code = cause?.code ?? cause?.cause?.code ?? (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** The refusal's text: the backend's `{"message", "detail"?}`, or the start of any other body. */
async function refusalOf(response: Response): Promise<{ message?: string; detail?: string }> {
  const text = (await response.text().catch(() => "")).trim();
  try {
    const body = JSON.parse(text) as { message?: unknown; detail?: unknown };
    return { ...(typeof body.message === "string" ? { message: body.message } : {}), ...(typeof body.detail === "string" ? { detail: body.detail } : {}) };
  } catch {
    return text ? { message: text.length > 200 ? `${text.slice(0, 200)}…` : text } : {};
  }
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));
const seconds = (ms: number) => `${ms / 1000} s`;
const globalFetch: Fetch = (url, init) => fetch(url, init);

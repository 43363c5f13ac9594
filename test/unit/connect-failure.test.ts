// The client library's connection errors say where, why and what the server answered: against real sockets on
// loopback (a closed port, a server that refuses the upgrade with the backend's JSON, one that never answers) and a
// host name that does not resolve. The credential never shows in the message.
import http from "node:http";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ChatClientError } from "chat-backend/client";
import { connectNode } from "chat-backend/client/node";
import { freePort } from "../../scripts/lib/lib";

const servers: net.Server[] = [];
const connections = new Set<net.Socket>();
afterEach(async () => {
  for (const socket of connections) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function listen(server: net.Server): Promise<number> {
  servers.push(server);
  server.on("connection", (socket: net.Socket) => connections.add(socket.once("close", () => connections.delete(socket))));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as net.AddressInfo).port;
}

async function failure(url: string, options: { token?: string; connectTimeoutMs?: number } = {}): Promise<ChatClientError> {
  const error = await connectNode({ url, userId: "u1", reconnect: false, ...options }).then(
    (client) => (client.close(), expect.fail("connected")),
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(ChatClientError);
  return error as ChatClientError;
}

describe("a connection that cannot be made", () => {
  it("names the URL and says the connection was refused when nothing listens", async () => {
    const port = await freePort();
    const error = await failure(`ws://127.0.0.1:${port}/ws`);
    expect(error.connection).toEqual({ url: `ws://127.0.0.1:${port}/ws?v=2`, cause: "refused" });
    expect(error.message).toBe(
      `could not connect to ws://127.0.0.1:${port}/ws?v=2: connection refused: nothing listens on 127.0.0.1:${port} (is the backend running? npm run dev)`,
    );
  });

  it("gives the status and the server's message and detail for an HTTP refusal, without the credential", async () => {
    const asked: string[] = [];
    const port = await listen(
      http.createServer((request, response) => {
        asked.push(`${request.headers.upgrade ?? "plain"} ${request.url}`);
        response.writeHead(401, { "content-type": "application/json" });
        response.end(JSON.stringify({ message: "Invalid credential", data: null, detail: 'the JWT failed a check: missing required "exp" claim' }));
      }),
    );
    const error = await failure(`ws://127.0.0.1:${port}/ws`, { token: "secret-jwt" });
    expect(error.connection).toEqual({
      url: `ws://127.0.0.1:${port}/ws?v=2&token=***`,
      cause: "http",
      status: 401,
      serverMessage: "Invalid credential",
      serverDetail: 'the JWT failed a check: missing required "exp" claim',
    });
    expect(error.message).toBe(
      `could not connect to ws://127.0.0.1:${port}/ws?v=2&token=***: the server refused the WebSocket: HTTP 401 Invalid credential: the JWT failed a check: missing required "exp" claim`,
    );
    expect(error.message).not.toContain("secret-jwt");
    // The upgrade, then the same URL without it, as the chat page asks.
    expect(asked).toEqual(["websocket /ws?v=2&token=secret-jwt", "plain /ws?v=2&token=secret-jwt"]);
  });

  it("says the host name does not resolve", async () => {
    const error = await failure("ws://no-such-host.invalid:8787/ws");
    expect(error.connection?.cause).toBe("dns");
    expect(error.message).toContain("could not connect to ws://no-such-host.invalid:8787/ws?v=2: the host name no-such-host.invalid");
  });

  it("gives up after connectTimeoutMs when the server never answers the upgrade", async () => {
    const port = await listen(net.createServer(() => {})); // accepts the connection, says nothing
    const error = await failure(`ws://127.0.0.1:${port}/ws`, { connectTimeoutMs: 300 });
    expect(error.connection).toEqual({ url: `ws://127.0.0.1:${port}/ws?v=2`, cause: "timeout" });
    expect(error.message).toContain("no answer within 0.3 s");
  });
});

// The benchmark's floors: a bare Durable Object that accepts WebSockets with the Hibernation API and echoes,
// and the same with one D1 round trip (frames starting with "d1:") or one service-binding fetch to this Worker
// ("fetch:", a subrequest like the backend's agent calls) before each echo. `?room=` groups sockets on one object.
import { DurableObject } from "cloudflare:workers";

export class Echo extends DurableObject<EchoEnv> {
  override async fetch(): Promise<Response> {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (typeof message === "string" && message.startsWith("d1:")) await this.env.DB.prepare("select 1 as one").first();
    if (typeof message === "string" && message.startsWith("fetch:")) await (await this.env.SELF.fetch("http://echo/ping")).text();
    socket.send(message);
  }
}

interface EchoEnv {
  ECHO: DurableObjectNamespace<Echo>;
  DB: D1Database;
  SELF: Fetcher;
}

export default {
  async fetch(request: Request, env: EchoEnv): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/ping") return new Response("pong");
    // One object per connection, as the backend does for clients that do not name their user; ?room=<name> shares
    // one object among sockets, as the backend's hub does for one user's sockets (the idle-socket floor).
    const room = url.searchParams.get("room");
    return env.ECHO.get(room ? env.ECHO.idFromName(room) : env.ECHO.newUniqueId()).fetch(request);
  },
};

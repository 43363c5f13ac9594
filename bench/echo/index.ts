// The benchmark's floors: a bare Durable Object that accepts WebSockets with the Hibernation API and echoes,
// and the same with one D1 round trip (frames starting with "d1:") or one service-binding fetch to this Worker
// ("fetch:", a subrequest like the backend's agent calls) before each echo.
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
    if (new URL(request.url).pathname === "/ping") return new Response("pong");
    // One object per connection, as the backend does for clients that do not name their user.
    return env.ECHO.get(env.ECHO.newUniqueId()).fetch(request);
  },
};

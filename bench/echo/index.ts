// The benchmark's floor: a bare Durable Object that accepts WebSockets with the Hibernation API and echoes.
import { DurableObject } from "cloudflare:workers";

export class Echo extends DurableObject {
  override async fetch(): Promise<Response> {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  override webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): void {
    socket.send(message);
  }
}

interface EchoEnv {
  ECHO: DurableObjectNamespace<Echo>;
}

export default {
  fetch(request: Request, env: EchoEnv): Promise<Response> {
    // One object per connection, as the backend does for clients that do not name their user.
    return env.ECHO.get(env.ECHO.newUniqueId()).fetch(request);
  },
};

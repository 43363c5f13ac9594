// Owns muting the backend's per-turn log line on request (`npm run bench`'s "turn log line" phase): POST
// /__bench/turn-log/mute drops every console.log line of a turn (src/observability/log.ts, `{"event":"turn"…`)
// until POST /__bench/turn-log/unmute, so the same Worker runs the same turns with and without it and the
// benchmark shows what `wrangler dev`'s console costs per line. The Worker still builds each line; only
// console.log is skipped. Module state: every object of the Worker shares this isolate here, as the meter relies on.

const TURN_LINE = '{"event":"turn"';
let muted = false;

// Wraps whatever console.log is when this module runs; wrangler's prefixing proxy may wrap this in turn, and then
// passes its prefix first: the line is any argument.
const log = console.log.bind(console);
console.log = (...args: unknown[]): void => {
  if (muted && args.some((arg) => typeof arg === "string" && arg.startsWith(TURN_LINE))) return;
  log(...args);
};

export function turnLogHandler<E>(handler: ExportedHandler<E>): ExportedHandler<E> {
  return {
    ...handler,
    async fetch(request, env, ctx) {
      const { pathname } = new URL(request.url);
      if (!pathname.startsWith("/__bench/turn-log")) return handler.fetch!(request, env, ctx);
      const action = pathname.slice("/__bench/turn-log".length);
      if (request.method === "POST" && action === "/mute") muted = true;
      else if (request.method === "POST" && action === "/unmute") muted = false;
      else return new Response("POST /__bench/turn-log/{mute,unmute}", { status: 404 });
      return Response.json({ muted });
    },
  };
}

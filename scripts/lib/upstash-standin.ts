// A local stand-in for Upstash's Redis REST API over a real redis-server, for development and tests
// (Upstash's cloud is unreachable offline). Not part of the Worker. Speaks what @upstash/redis sends:
// POST / (one command), /pipeline and /multi-exec (arrays of commands), Bearer token, Upstash-Encoding: base64.
// Tests can inject faults through POST /__faults {failNext, mode: "before"|"after", down}.
// Started by scripts/dev.ts (npm run dev:pg); scripts/upstash-standin.ts runs it on its own.
import http from "node:http";
import type { AddressInfo } from "node:net";
import IORedis from "ioredis";

export interface UpstashFaults {
  failNext: number;
  mode: "before" | "after";
  down: boolean;
}

export interface UpstashStandIn {
  url: string;
  faults: UpstashFaults;
  close(): Promise<void>;
}

export interface UpstashStandInOptions {
  port?: number;
  token: string;
  redisUrl: string;
}

/** One command as @upstash/redis sends it: ["hset", "k", "f", "v"]. */
type Command = unknown[];
type Reply = { result: unknown } | { error: string };

const encode = (value: unknown): unknown =>
  typeof value === "string" ? Buffer.from(value).toString("base64") : Array.isArray(value) ? value.map(encode) : value;

export async function startUpstashStandIn({ port = 0, token, redisUrl }: UpstashStandInOptions): Promise<UpstashStandIn> {
  const redis = new IORedis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const faults: UpstashFaults = { failNext: 0, mode: "before", down: false };

  const run = async ([name, ...args]: Command): Promise<Reply> => {
    try {
      return { result: await redis.call(String(name).toUpperCase(), ...args.map(String)) };
    } catch (error) {
      return { error: (error as Error).message };
    }
  };
  const runAll = async (path: string, body: unknown): Promise<Reply | Reply[]> => {
    if (path === "/pipeline") {
      const results: Reply[] = [];
      for (const command of body as Command[]) results.push(await run(command));
      return results;
    }
    if (path === "/multi-exec") {
      const replies = await redis.multi((body as Command[]).map(([name, ...args]) => [String(name).toUpperCase(), ...args.map(String)])).exec();
      return (replies ?? []).map(([error, result]): Reply => (error ? { error: error.message } : { result }));
    }
    return run(body as Command);
  };

  const server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (chunk) => (raw += chunk));
    req.on("end", async () => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (req.headers.authorization !== `Bearer ${token}`) return reply(401, { error: "Unauthorized" });
      if (req.url === "/__faults") {
        Object.assign(faults, JSON.parse(raw || "{}"));
        return reply(200, faults);
      }
      if (faults.down) return req.socket.destroy();
      const inject = faults.failNext > 0 ? (faults.failNext--, faults.mode) : null;
      if (inject === "before") return reply(500, { error: "injected failure before the command ran" });
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        return reply(400, { error: "body is not JSON" });
      }
      const result = await runAll(req.url ?? "/", body);
      if (inject === "after") return req.socket.destroy(); // the command ran, the client never hears of it
      const base64 = req.headers["upstash-encoding"] === "base64";
      const encoded = (r: Reply): Reply => ("result" in r && base64 ? { result: encode(r.result) } : r);
      reply(200, Array.isArray(result) ? result.map(encoded) : encoded(result));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    faults,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      redis.disconnect();
    },
  };
}

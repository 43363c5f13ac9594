// A local stand-in for Upstash's Redis REST API over a real redis-server, for development and tests
// (Upstash's cloud is unreachable offline). Not part of the Worker. Speaks what @upstash/redis sends:
// POST / (one command), /pipeline and /multi-exec (arrays of commands), Bearer token, Upstash-Encoding: base64.
// Tests can inject faults through POST /__faults {failNext, mode: "before"|"after", down}.
//   node scripts/upstash-standin.mjs [--port 8079] [--token dev-upstash-token] [--redis redis://127.0.0.1:6379]
import http from "node:http";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import IORedis from "ioredis";

const encode = (value) =>
  typeof value === "string" ? Buffer.from(value).toString("base64") : Array.isArray(value) ? value.map(encode) : value;

export async function startUpstashStandIn({ port = 0, token, redisUrl }) {
  const redis = new IORedis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const faults = { failNext: 0, mode: "before", down: false };

  const run = async ([name, ...args]) => {
    try {
      return { result: await redis.call(String(name).toUpperCase(), ...args.map(String)) };
    } catch (error) {
      return { error: error.message };
    }
  };
  const runAll = async (path, body) => {
    if (path === "/pipeline") {
      const results = [];
      for (const command of body) results.push(await run(command));
      return results;
    }
    if (path === "/multi-exec") {
      const replies = await redis.multi(body.map(([name, ...args]) => [String(name).toUpperCase(), ...args.map(String)])).exec();
      return replies.map(([error, result]) => (error ? { error: error.message } : { result }));
    }
    return run(body);
  };

  const server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (chunk) => (raw += chunk));
    req.on("end", async () => {
      const reply = (status, body) => {
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
      let body;
      try {
        body = JSON.parse(raw);
      } catch {
        return reply(400, { error: "body is not JSON" });
      }
      const result = await runAll(req.url ?? "/", body);
      if (inject === "after") return req.socket.destroy(); // the command ran, the client never hears of it
      const base64 = req.headers["upstash-encoding"] === "base64";
      const encoded = (r) => ("result" in r && base64 ? { result: encode(r.result) } : r);
      reply(200, Array.isArray(result) ? result.map(encoded) : encoded(result));
    });
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    faults,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      redis.disconnect();
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "8079" },
      token: { type: "string", default: "dev-upstash-token" },
      redis: { type: "string", default: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" },
    },
  });
  const standIn = await startUpstashStandIn({ port: Number(values.port), token: values.token, redisUrl: values.redis });
  console.log(`Upstash stand-in on ${standIn.url} -> ${values.redis}`);
}

// Runs the local Upstash REST stand-in (scripts/lib/upstash-standin.ts) on its own, in front of a redis-server:
//   npx tsx scripts/upstash-standin.ts [--port 8079] [--token dev-upstash-token] [--redis redis://127.0.0.1:6379]
import { numberOption, parseCommand, urlOption } from "./lib/cli.ts";
import { startUpstashStandIn } from "./lib/upstash-standin.ts";

const { values } = parseCommand({
  usage: "npx tsx scripts/upstash-standin.ts [--port N] [--token TOKEN] [--redis URL]",
  description: "Serves Upstash's REST protocol on 127.0.0.1 in front of a real redis-server (dev and test tooling), until stopped.",
  options: {
    port: { type: "string", value: "N", default: "8079", description: "port to listen on" },
    token: { type: "string", value: "TOKEN", default: "dev-upstash-token", description: "bearer token clients must send (UPSTASH_REDIS_REST_TOKEN)" },
    redis: { type: "string", value: "URL", default: process.env.REDIS_URL ?? "redis://127.0.0.1:6379", description: "the redis-server (REDIS_URL from the environment wins over the default)" },
  },
});
const port = numberOption("--port", values.port, { min: 0, max: 65535 });
const redisUrl = urlOption("--redis", values.redis, ["redis:"]);
const standIn = await startUpstashStandIn({ port, token: values.token, redisUrl });
console.log(`Upstash stand-in on ${standIn.url} -> ${values.redis}`);

// Runs the local Upstash REST stand-in (tools/upstash-standin.ts) on its own, in front of a redis-server:
//   npx tsx scripts/upstash-standin.ts [--port 8079] [--token dev-upstash-token] [--redis redis://127.0.0.1:6379]
import { parseArgs } from "node:util";
import { startUpstashStandIn } from "../tools/upstash-standin.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8079" },
    token: { type: "string", default: "dev-upstash-token" },
    redis: { type: "string", default: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" },
  },
});
const standIn = await startUpstashStandIn({ port: Number(values.port), token: values.token, redisUrl: values.redis });
console.log(`Upstash stand-in on ${standIn.url} -> ${values.redis}`);

// The agent bridge's entry (`npm run agent:bridge`, or dist/agent-bridge.mjs once built): reads its settings from
// arguments or the environment, refusing bad values loudly, then runs ./bridge.ts until SIGTERM/SIGINT. It imports
// nothing of the repository but the bridge and gen/, so it bundles into one file that plain `node` runs.
import { parseArgs } from "node:util";
import { parseHostPort, startAgentBridge, targetUrl } from "./bridge.ts";

const USAGE = `usage: npm run agent:bridge -- --listen HOST:PORT --target HOST:PORT|URL [--auth-token TOKEN] [--forward-auth] [--grace-ms MS]
   or: node dist/agent-bridge.mjs --listen HOST:PORT --target HOST:PORT|URL [options]   (after npm run build)

Serves the agent's gRPC service over gRPC-web and Connect (HTTP/1.1) on --listen and forwards every call to the
native gRPC (HTTP/2) agent at --target. Each option has an environment equivalent; an option wins over it.

  --listen HOST:PORT     AGENT_BRIDGE_LISTEN        where to listen (default 127.0.0.1:8090)
  --target HOST:PORT     AGENT_BRIDGE_TARGET        the gRPC agent (required): host:port (h2c) or an https:// URL
  --auth-token TOKEN     AGENT_AUTH_TOKEN           calls must carry "authorization: Bearer TOKEN" (the backend's
                                                    AI_AUTH_TOKEN); prefer the variable: arguments show in ps
  --forward-auth         AGENT_BRIDGE_FORWARD_AUTH  also send the caller's authorization header to the agent (true/false)
  --grace-ms MS          AGENT_BRIDGE_GRACE_MS      on SIGTERM/SIGINT, how long calls in flight may finish (default 5000)`;

function fail(message: string): never {
  console.error(`agent-bridge: ${message}\n\n${USAGE}`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      listen: { type: "string" },
      target: { type: "string" },
      "auth-token": { type: "string" },
      "forward-auth": { type: "boolean" },
      "grace-ms": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  }).values;
} catch (error) {
  fail((error as Error).message);
}
if (parsed.help) {
  console.log(USAGE);
  process.exit(0);
}

/** An option, else its variable; an empty value counts as unset, as everywhere in this project. */
const setting = (option: string | undefined, variable: string): string | undefined => (option || process.env[variable]) || undefined;

const listen = setting(parsed.listen, "AGENT_BRIDGE_LISTEN") ?? "127.0.0.1:8090";
const target = setting(parsed.target, "AGENT_BRIDGE_TARGET");
const authToken = setting(parsed["auth-token"], "AGENT_AUTH_TOKEN") ?? null;
const graceText = setting(parsed["grace-ms"], "AGENT_BRIDGE_GRACE_MS") ?? "5000";
const forwardText = parsed["forward-auth"] ? "true" : (process.env.AGENT_BRIDGE_FORWARD_AUTH || "false");

if (!target) fail("--target (or AGENT_BRIDGE_TARGET) is required: the native gRPC agent, e.g. 127.0.0.1:50051");
try {
  parseHostPort(listen, "--listen");
  targetUrl(target);
} catch (error) {
  fail((error as Error).message);
}
if (!/^\d+$/.test(graceText) || Number(graceText) > 600_000) fail(`--grace-ms "${graceText}": expected whole milliseconds, 0-600000`);
if (forwardText !== "true" && forwardText !== "false") fail(`AGENT_BRIDGE_FORWARD_AUTH "${forwardText}": expected true or false`);
if (authToken !== null && /\s/.test(authToken)) fail("the agent credential must not contain whitespace");

const { host } = parseHostPort(listen, "--listen");
if (!authToken && !["127.0.0.1", "::1", "localhost"].includes(host)) {
  console.error(`agent-bridge: WARNING: listening on ${host} without an agent credential: anyone who reaches it can call the agent (set AGENT_AUTH_TOKEN)`);
}

const bridge = await startAgentBridge({
  listen,
  target,
  authToken,
  forwardAuthorization: forwardText === "true",
  graceMs: Number(graceText),
}).catch((error: Error) => fail(`cannot listen on ${listen}: ${error.message}`));

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) {
      console.error(`agent-bridge: ${signal} again, exiting now`);
      process.exit(1);
    }
    stopping = true;
    console.log(`agent-bridge: ${signal}: no new calls, waiting for calls in flight`);
    bridge.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`agent-bridge: shutdown failed: ${String(error)}`);
        process.exit(1);
      },
    );
  });
}

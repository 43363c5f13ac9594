// A minimal reproduction of why src/agent/unary-call.ts reads agent replies itself instead of with connect-es's
// transports (@connectrpc/connect 2.1.2): its envelope reader (createEnvelopeReadableStream, what the gRPC-web
// transport reads replies with) allocates a buffer of whatever length the 4 bytes after an envelope's flag byte
// declare, before any of it arrives, bounded only by readMaxBytes (4 GiB by default). A reply that is not the
// protocol (an HTML error page, random bytes) declares hundreds of megabytes to gigabytes ("<htm" is 1.75 GB). In
// workerd, allocating it held the isolate for seconds, and every other request of the isolate waited. (Node
// allocates lazily, so the same read is quick there; the reproduction runs in workerd.)
// Run: npx tsx repro/connect-envelope-allocation/run.ts
import path from "node:path";
import { bin, freePort, start } from "../../scripts/lib/lib.ts";

const port = await freePort();
const config = path.join(import.meta.dirname, "wrangler.toml");
const child = start(bin("wrangler"), ["dev", "-c", config, "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(await freePort())], {
  stdio: ["ignore", "ignore", "inherit"],
});
try {
  for (let attempt = 0; ; attempt++) {
    const answer = await fetch(`http://127.0.0.1:${port}/`).then((r) => (r.ok ? r.json() : null), () => null);
    if (answer) {
      console.log(answer);
      break;
    }
    if (attempt > 300) throw new Error("the reproduction's Worker did not start");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
} finally {
  child.kill("SIGTERM");
}

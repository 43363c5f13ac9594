// Keeps the client library's browser entry loadable in a browser: of everything outside client/, only the wire
// contract (protocol/) and packages that run in a browser as they are.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";

const root = path.join(import.meta.dirname, "../..");
/** What a file loads when it runs: type-only imports (the backend's route declarations, for hc's types) load nothing. */
const importsOf = (file: string) => [...readFileSync(file, "utf8").replace(/^import type [^;]+;$/gm, "").matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((m) => m[1]!);

it("keeps the browser entry free of Node and of the backend: only client/node.ts may load `ws`", () => {
  // Packages that run in a browser as they are: zod (validation), the AI SDK's types (client/ai-sdk*.ts) and Hono's
  // client (http-api.ts).
  const browserPackages = new Set(["zod", "ai", "hono/client"]);
  for (const file of readdirSync(path.join(root, "client")).filter((name) => name.endsWith(".ts") && name !== "node.ts")) {
    const imports = importsOf(path.join(root, "client", file));
    expect(imports.filter((specifier) => !specifier.startsWith("./") && specifier !== "../protocol" && !browserPackages.has(specifier)), file).toEqual([]);
  }
});

it("keeps the protocol module free of any import but its own files, so every side can load it", () => {
  for (const file of readdirSync(path.join(root, "protocol")).filter((name) => name.endsWith(".ts"))) {
    expect(importsOf(path.join(root, "protocol", file)).filter((specifier) => !specifier.startsWith("./")), file).toEqual([]);
  }
});

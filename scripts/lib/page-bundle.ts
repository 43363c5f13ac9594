// Owns bundling the built-in chat page's TypeScript (page/main.ts, using chat-backend/client) into public/app.js,
// the one generated file among the Worker's static assets. Called by scripts/build-page.ts, npm run build, npm run
// dev and the chat page's end-to-end test, so a fresh clone serves a working page.
import path from "node:path";
import { build } from "esbuild";
import { root } from "./lib.ts";

export const PAGE_BUNDLE = path.join(root, "public", "app.js");

export async function bundlePage(options: { minify?: boolean } = {}): Promise<void> {
  await build({
    entryPoints: [path.join(root, "page", "main.ts")],
    outfile: PAGE_BUNDLE,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: options.minify ?? true,
    sourcemap: "linked",
    legalComments: "none",
    logLevel: "warning",
    absWorkingDir: root,
  });
}

// npm run build:page: bundles the built-in chat page (page/ -> public/app.js, git-ignored).
import { parseCommand } from "./lib/cli.ts";
import { bundlePage, PAGE_BUNDLE } from "./lib/page-bundle.ts";

parseCommand({ usage: "npm run build:page", description: "Bundles the built-in chat page (page/) into public/app.js.", options: {} });
await bundlePage();
console.log(`chat page bundled: ${PAGE_BUNDLE}`);

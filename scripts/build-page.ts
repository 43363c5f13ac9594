// npm run build:page: bundles the built-in chat page (page/ -> public/app.js, git-ignored).
import { bundlePage, PAGE_BUNDLE } from "../tools/page-bundle.ts";

await bundlePage();
console.log(`chat page bundled: ${PAGE_BUNDLE}`);

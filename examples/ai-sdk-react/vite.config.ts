// The example's build (`npm run build:example` → examples/ai-sdk-react/dist, git-ignored) and dev server
// (`npm run example`). React's JSX goes through Vite's own transform; `chat-backend/client/ai-sdk` resolves to the
// repository's client source through the root package's "exports".
import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  server: { host: "127.0.0.1", port: 5173 },
  preview: { host: "127.0.0.1", port: 4173 },
  build: { outDir: "dist", emptyOutDir: true },
});

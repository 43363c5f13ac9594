// drizzle-kit: `npm run db:generate` writes SQL migrations for D1 into migrations/ (review them by hand).
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./src/storage/schema.ts",
  out: "./migrations",
});

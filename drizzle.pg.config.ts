// drizzle-kit for PostgreSQL: `npm run db:generate:pg` writes migrations into migrations-pg/ (review them by hand).
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./src/storage/schema.pg.ts",
  out: "./migrations-pg",
});

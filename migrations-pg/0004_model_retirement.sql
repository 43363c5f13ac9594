ALTER TABLE "models" ADD COLUMN "retired_at" bigint;--> statement-breakpoint
CREATE INDEX "users_created_idx" ON "users" USING btree ("created_at","id");
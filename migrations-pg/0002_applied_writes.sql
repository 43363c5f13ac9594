CREATE TABLE "applied_writes" (
	"id" text PRIMARY KEY NOT NULL,
	"created_at" bigint NOT NULL
);

ALTER TABLE "sessions" ADD COLUMN "streamed" boolean DEFAULT true NOT NULL;--> statement-breakpoint
-- Sessions an upload created here that have had no turn yet: their first turn starts them on the stream. (Imported
-- sessions have no history either, but their files were imported with size 0; they stay streamed.)
UPDATE "sessions" SET "streamed" = false WHERE NOT EXISTS (SELECT 1 FROM "messages" WHERE "messages"."session_id" = "sessions"."id") AND EXISTS (SELECT 1 FROM "files" WHERE "files"."session_id" = "sessions"."id" AND "files"."size" > 0);

ALTER TABLE `models` ADD `retired_at` integer;--> statement-breakpoint
CREATE INDEX `users_created_idx` ON `users` (`created_at`,`id`);
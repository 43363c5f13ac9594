-- The original Chat-Backend's PostgreSQL schema (spec section 8), used to test the import (tools/original-fixture.ts).
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
CREATE TABLE IF NOT EXISTS user_data (
  user_id uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
  username varchar(255) NOT NULL,
  models int[],
  balance float,
  created_at timestamp DEFAULT now()
);
CREATE TABLE IF NOT EXISTS model_details (
  model_id int PRIMARY KEY,
  model_name varchar(255),
  context_length int
);
CREATE TABLE IF NOT EXISTS session_details (
  session_id uuid PRIMARY KEY,
  session_name varchar(255),
  user_id uuid REFERENCES user_data ON DELETE CASCADE,
  model_id int REFERENCES model_details,
  created_at timestamp DEFAULT now()
);
CREATE TABLE IF NOT EXISTS file_data (
  session_id uuid REFERENCES session_details ON DELETE CASCADE,
  file_name text[],
  created_at timestamp DEFAULT now()
);
CREATE TABLE IF NOT EXISTS chat_details (
  session_id uuid PRIMARY KEY REFERENCES session_details ON DELETE CASCADE,
  session_prompt text,
  chats_summary text,
  chats jsonb
);
CREATE OR REPLACE FUNCTION append_chats() RETURNS trigger AS $$
BEGIN
  NEW.chats := COALESCE(OLD.chats, '[]'::jsonb) || COALESCE(NEW.chats, '[]'::jsonb);
  RETURN NEW;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS chats_append ON chat_details;
CREATE TRIGGER chats_append BEFORE UPDATE ON chat_details FOR EACH ROW EXECUTE FUNCTION append_chats();

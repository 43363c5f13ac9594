-- The original Chat-Backend's PostgreSQL schema as its docker_postgres_init.sql creates it (spec section 8), for the
-- import's tests (scripts/lib/original-fixture.ts) and sync:original's. Same shape as the original file: one DO block that
-- creates what is missing, then COMMIT (psql, which runs the original's init file, warns that no transaction is open).
-- Identifiers are unquoted, so User_Data is user_data and UserName is username.
-- NOT NULL exactly where the original has it: UserName, every Created_At, Model_Name, context_length, Session_Name,
-- the session's User_Id and Model_Id, File_Data's Session_Id and File_Name, and all of Chat_Details' columns.
-- Models and Balance may be NULL there (the original's README inserts users with both, nothing enforces it).
DO $$
BEGIN
  CREATE EXTENSION IF NOT EXISTS "uuid-ossp";

  IF NOT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_name = 'user_data') THEN
    CREATE TABLE User_Data (
      User_Id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
      UserName VARCHAR(255) NOT NULL,
      Models INT[],                 -- model ids the user may use
      Balance FLOAT,                -- dollars, double precision
      Created_At TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
    );
  END IF;

  IF NOT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_name = 'model_details') THEN
    CREATE TABLE Model_Details (
      Model_Id INT PRIMARY KEY,
      Model_Name VARCHAR(255) NOT NULL,
      context_length INT NOT NULL
    );
  END IF;

  IF NOT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_name = 'session_details') THEN
    CREATE TABLE Session_Details (
      Session_Id UUID PRIMARY KEY,
      Session_Name VARCHAR(255) NOT NULL,
      User_Id UUID NOT NULL,
      Model_Id INT NOT NULL,
      Created_At TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
      FOREIGN KEY (User_Id) REFERENCES User_Data (User_Id) ON DELETE CASCADE,
      FOREIGN KEY (Model_Id) REFERENCES Model_Details (Model_Id)
    );
  END IF;

  -- No primary key: in practice one row per session, holding the stored names of its files.
  IF NOT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_name = 'file_data') THEN
    CREATE TABLE File_Data (
      Session_Id UUID NOT NULL,
      File_Name TEXT[] NOT NULL,
      Created_At TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
      FOREIGN KEY (Session_Id) REFERENCES Session_Details (Session_Id) ON DELETE CASCADE
    );
  END IF;

  -- Chats is the whole history, one JSON array of {role, content}.
  IF NOT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_name = 'chat_details') THEN
    CREATE TABLE Chat_Details (
      Session_Id UUID PRIMARY KEY,
      Session_Prompt TEXT NOT NULL,
      Chats_Summary TEXT NOT NULL,
      Chats JSONB NOT NULL DEFAULT '[]'::JSONB,
      FOREIGN KEY (Session_Id) REFERENCES Session_Details (Session_Id) ON DELETE CASCADE
    );
  END IF;

  -- An UPDATE appends the new Chats array to the old one instead of replacing it (Sync-Backend sends only the
  -- entries a turn added). NEW holds every column, so an UPDATE that does not set Chats appends the old history
  -- to itself: the original's Sync-Backend always sets Chats with Chats_Summary.
  IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'append_chat_jsonb') THEN
    CREATE FUNCTION append_chat_jsonb() RETURNS TRIGGER AS $fn$
    BEGIN
      IF TG_OP = 'UPDATE' AND NEW.Chats IS NOT NULL THEN
        NEW.Chats := OLD.Chats || NEW.Chats;
      END IF;
      RETURN NEW;
    END;
    $fn$ LANGUAGE plpgsql;
  END IF;

  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'trg_append_chat_jsonb') THEN
    CREATE TRIGGER trg_append_chat_jsonb BEFORE UPDATE ON Chat_Details
      FOR EACH ROW EXECUTE FUNCTION append_chat_jsonb();
  END IF;
END $$;

COMMIT;

-- The spec's model table (section 5). Prices are integer micro-dollars per 1K tokens
-- ($0.0005 = 500). Operators add models with an INSERT; no deploy is needed.
INSERT INTO "models" ("id", "name", "provider", "context_length", "input_micros_per_1k", "output_micros_per_1k") VALUES
  (0, 'gpt-3.5-turbo-0125', 'openai', 16385, 500, 1500),
  (1, 'gpt-3.5-turbo', 'openai', 16385, 3000, 6000),
  (2, 'gpt-3.5-turbo-1106', 'openai', 16385, 1000, 2000),
  (3, 'gpt-3.5-turbo-instruct', 'openai', 4096, 1500, 2000),
  (4, 'gpt-4-turbo', 'openai', 128000, 10000, 30000),
  (5, 'gpt-4-turbo-2024-04-09', 'openai', 128000, 10000, 30000),
  (6, 'gpt-4', 'openai', 8192, 30000, 60000),
  (7, 'gpt-4-32k', 'openai', 32768, 60000, 120000),
  (8, 'llama3.1:8b', 'ollama', 4096, 1500, 2000)
ON CONFLICT ("id") DO NOTHING;

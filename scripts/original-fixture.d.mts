// Types of scripts/original-fixture.mjs for the TypeScript tests.
export const HISTORY_SIZES: number[];
export function createOriginalDatabase(
  serverUrl: string,
  database: string,
  options?: { sessions?: number; usersEvery?: number },
): Promise<{ url: string; users: number; sessions: number; entries: number; files: number }>;

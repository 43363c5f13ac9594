// Types of scripts/postgres.mjs for the TypeScript that imports it (vitest.config.ts).
export function databaseUrl(serverUrl: string, database: string): string;
export function ensureDatabase(serverUrl: string, database: string): Promise<string>;
export function migratePostgres(url: string, options?: { reset?: boolean }): Promise<void>;
export function checkoutDatabase(base: string): string;

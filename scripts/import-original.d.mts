// Types of scripts/import-original.mjs for TypeScript callers.
export function r2Key(userId: string, sessionId: string, fileName: string): string;

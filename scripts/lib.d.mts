// Types of scripts/lib.mjs for the TypeScript that imports it (test bundling, end-to-end tests).
export const root: string;
export function bin(name: string): string;
/** process.env plus the settings that keep wrangler offline and quiet. */
export const offlineEnv: NodeJS.ProcessEnv;
export const LOCAL_STATE: string;
export const DEV_SECRETS: Record<string, string>;
export function run(command: string, args: string[], options?: object): void;
export function wrangler(args: string[], options?: object): void;

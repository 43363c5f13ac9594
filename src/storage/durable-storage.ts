// Owns the calls to a Durable Object's key-value storage that take many keys: Durable Object storage takes at most
// 128 keys per put, get or delete, so these split a list into calls of that size. Calls made together (no await in
// between) still commit as one storage transaction.
import { chunked } from "../chunked";

/** Durable Object storage takes at most this many keys per put, get or delete. */
export const MAX_KEYS_PER_STORAGE_CALL = 128;

/** Stores every entry, in calls of at most 128 keys issued together. */
export async function putEntries(storage: DurableObjectStorage, entries: Record<string, unknown>, options?: DurableObjectPutOptions): Promise<void> {
  const keys = Object.keys(entries);
  if (keys.length === 0) return;
  await Promise.all(chunked(keys, MAX_KEYS_PER_STORAGE_CALL).map((part) => storage.put(Object.fromEntries(part.map((key) => [key, entries[key]])), options)));
}

/** Reads these keys (absent ones are left out), in calls of at most 128 keys. */
export async function getEntries<T>(storage: DurableObjectStorage, keys: readonly string[]): Promise<Map<string, T>> {
  const parts = await Promise.all(chunked(keys, MAX_KEYS_PER_STORAGE_CALL).map((part) => storage.get<T>(part)));
  return new Map(parts.flatMap((part) => [...part]));
}

/** Deletes these keys, in calls of at most 128 keys issued together. */
export async function deleteKeys(storage: DurableObjectStorage, keys: readonly string[], options?: DurableObjectPutOptions): Promise<void> {
  await Promise.all(chunked(keys, MAX_KEYS_PER_STORAGE_CALL).map((part) => storage.delete(part, options)));
}

/** Deletes every key that starts with `prefix`. */
export async function deletePrefix(storage: DurableObjectStorage, prefix: string): Promise<void> {
  await deleteKeys(storage, [...(await storage.list({ prefix })).keys()]);
}

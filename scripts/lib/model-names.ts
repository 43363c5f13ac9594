// Owns how scripts turn a --models list (ids, names, or both) into model ids, against the backend's model catalog.

/** A model as GET /admin/models lists it (only the fields used here). */
export interface CatalogEntry {
  id: number;
  name: string;
  retired_at?: string | null;
}

/**
 * Model ids for `entries`: a number is an id as it is; anything else is a model name, looked up in `catalog()`
 * (called only when a name is given): exactly, else ignoring case. Names nothing matches make one error line.
 */
export async function resolveModels(entries: string[], catalog: () => Promise<CatalogEntry[]>): Promise<{ ids: number[] } | { error: string }> {
  const names = entries.filter((entry) => !/^\d+$/.test(entry));
  const models = names.length > 0 ? await catalog() : [];
  const ids: number[] = [];
  const unknown: string[] = [];
  for (const entry of entries) {
    if (/^\d+$/.test(entry)) {
      ids.push(Number(entry));
      continue;
    }
    const match = models.find((m) => m.name === entry) ?? models.find((m) => m.name.toLowerCase() === entry.toLowerCase());
    if (match) ids.push(match.id);
    else unknown.push(entry);
  }
  if (unknown.length > 0) {
    const known = models.filter((m) => !m.retired_at).map((m) => `${m.id} ${m.name}`);
    const list = known.length > 20 ? `${known.slice(0, 20).join(", ")}, …` : known.join(", ");
    return { error: `no model named ${unknown.map((name) => `'${name}'`).join(", ")}; the backend has: ${list || "no models"}` };
  }
  return { ids: [...new Set(ids)] };
}

// Owns the paging vocabulary of listing routes: the `limit` and `cursor` query fields, and the opaque cursor itself (a
// position in the listing as base64url JSON, read back through a zod schema, so a cursor not made here is a 400).
import { z } from "zod";
import { fromBase64Url, base64Url } from "../../domain/encoding";
import { ChatError, ErrorCode } from "../../domain/errors";

export const MAX_PAGE = 100;
const DEFAULT_PAGE = 50;

export const pageQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE)
    .default(DEFAULT_PAGE)
    .meta({ description: `Items per page (1 to ${MAX_PAGE}, default ${DEFAULT_PAGE})` }),
  cursor: z.string().max(1000).optional().meta({ description: "The `next_cursor` of the previous page; absent for the first page" }),
});

export const nextCursor = z.string().nullable().meta({ description: "Pass as `cursor` for the next page; null on the last page" });

export function encodeCursor(position: object): string {
  return base64Url(new TextEncoder().encode(JSON.stringify(position)));
}

/** The position a cursor holds, or null without one; InvalidField (400) for a cursor this API did not make. */
export function decodeCursor<S extends z.ZodType>(cursor: string | undefined, schema: S): z.output<S> | null {
  if (cursor === undefined) return null;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(fromBase64Url(cursor)));
  } catch {
    json = undefined;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ChatError(ErrorCode.InvalidField, 'Invalid field "cursor": not a cursor of this listing');
  return parsed.data;
}

// Owns how a request that fails its schema is refused: an InvalidField failure naming the first offending field;
// and how a query parameter of the routes that predate validation is read.
import { z } from "zod";
import { ChatError, ErrorCode } from "../../domain/errors";

/** A query parameter read as these routes always read it (`c.req.query(name)`): given twice, the first value. */
export const firstQueryValue = () => z.preprocess((value) => (Array.isArray(value) ? value[0] : value), z.string());

interface ValidationResult {
  success: boolean;
  error?: { issues: readonly { path: readonly PropertyKey[]; message: string }[] };
}

export function validationHook(result: ValidationResult): void {
  if (result.success) return;
  const issue = result.error?.issues[0];
  const field = issue?.path.map(String).join(".") || "body";
  throw new ChatError(ErrorCode.InvalidField, `Invalid field "${field}": ${issue?.message ?? "invalid"}`);
}

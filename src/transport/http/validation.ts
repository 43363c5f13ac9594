// Owns how a request that fails its schema is answered: 400 {"message", "data": null} naming the field.
import type { Context } from "hono";

interface ValidationResult {
  success: boolean;
  error?: { issues: readonly { path: readonly PropertyKey[]; message: string }[] };
}

export function validationHook(result: ValidationResult, c: Context) {
  if (result.success) return;
  const issue = result.error?.issues[0];
  const field = issue?.path.map(String).join(".") || "body";
  return c.json({ message: `Invalid field "${field}": ${issue?.message ?? "invalid"}`, data: null }, 400);
}

// Owns how a request that fails its schema is refused: an InvalidField failure naming the first offending field.
import { ChatError, ErrorCode } from "../../domain/errors";

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

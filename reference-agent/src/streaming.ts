// Helpers for answering ProcessStream: splitting a reply into pieces and pausing between them, abortably.

/** Splits items into exactly n consecutive groups of nearly equal size (some empty when items < n). */
export function splitEvenly<T>(items: readonly T[], n: number): T[][] {
  return Array.from({ length: n }, (_, i) => items.slice(Math.floor((i * items.length) / n), Math.floor(((i + 1) * items.length) / n)));
}

/** Waits ms milliseconds, or less if the call is cancelled; then throws if it was, so a generator stops there. */
export async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
  signal.throwIfAborted();
}

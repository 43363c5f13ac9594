// Owns splitting a list into pieces of at most `size` items, for APIs that take a bounded number per call
// (D1's bound values per statement, Durable Object storage's keys per call, R2's keys per delete).
export function chunked<T>(items: readonly T[], size: number): T[][] {
  const pieces: T[][] = [];
  for (let i = 0; i < items.length; i += size) pieces.push(items.slice(i, i + size));
  return pieces;
}

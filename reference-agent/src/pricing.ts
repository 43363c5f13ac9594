// What the reference agent charges: token counts times the model's price (dollars per 1K tokens).
const pricesPer1k: Record<string, { input: number; output: number }> = {
  "gpt-3.5-turbo-0125": { input: 0.0005, output: 0.0015 },
  "gpt-3.5-turbo": { input: 0.003, output: 0.006 },
  "gpt-3.5-turbo-1106": { input: 0.001, output: 0.002 },
  "gpt-3.5-turbo-instruct": { input: 0.0015, output: 0.002 },
  "gpt-4-turbo": { input: 0.01, output: 0.03 },
  "gpt-4-turbo-2024-04-09": { input: 0.01, output: 0.03 },
  "gpt-4": { input: 0.03, output: 0.06 },
  "gpt-4-32k": { input: 0.06, output: 0.12 },
  "llama3.1:8b": { input: 0.0015, output: 0.002 },
};
const unknownModelPrice = { input: 0.001, output: 0.002 };

/** A rough, deterministic token count (about four characters a token) for when the model reports none. */
export function estimateTokens(...texts: string[]): number {
  return texts.reduce((sum, text) => sum + Math.ceil(text.length / 4), 0);
}

export function costInDollars(modelName: string, inputTokens: number, outputTokens: number): number {
  const price = pricesPer1k[modelName] ?? unknownModelPrice;
  return (inputTokens * price.input + outputTokens * price.output) / 1000;
}

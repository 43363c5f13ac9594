// A promise opened by hand: tests hold tasks at a gate and release them in the order they choose.
export interface Gate<T = void> {
  promise: Promise<T>;
  open(value: T): void;
  fail(error: unknown): void;
}

export function gate<T = void>(): Gate<T> {
  let open!: (value: T) => void;
  let fail!: (error: unknown) => void;
  const promise = new Promise<T>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

/** Lets every callback already queued on the microtask and timer queues run. */
export const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

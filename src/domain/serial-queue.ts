// Owns running work one task at a time, in arrival order (a session's turns, its outbox's publishing, an account's
// decisions). A task may answer its caller before it ends (a turn replies, then stores its summary); the next
// task starts only when it ends. A failing task never blocks the ones behind it.
export type Respond<T> = (value: T) => void;

export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();

  /**
   * @param keepAlive told of every task's completion, so the runtime keeps the object alive until it is done
   * @param onLateError errors a task throws after it answered: nobody is waiting for them any more
   */
  constructor(
    private readonly keepAlive: (done: Promise<void>) => void = () => undefined,
    private readonly onLateError: (error: unknown) => void = (error) => console.error("session task failed after answering", error),
  ) {}

  /** Runs `task` after every task queued before it; settles with its result or its error. */
  run<T>(task: () => Promise<T>): Promise<T> {
    return this.answerEarly<T>(async (respond) => respond(await task()));
  }

  /**
   * Runs `task` after every task queued before it. The returned promise settles with the value the task passes
   * to `respond`, or with its error if it fails before answering; the queue moves on when the task ends.
   */
  answerEarly<T>(task: (respond: Respond<T>) => Promise<void>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let answered = false;
      const respond: Respond<T> = (value) => {
        answered = true;
        resolve(value);
      };
      const done = this.tail.then(() => task(respond)).then(
        () => {
          if (!answered) reject(new Error("a queued task ended without answering"));
        },
        (error: unknown) => {
          if (answered) this.onLateError(error);
          else reject(error);
        },
      );
      this.tail = done;
      this.keepAlive(done);
    });
  }

  /** Resolves once every task queued so far has ended (answered and finished its work after answering). */
  drained(): Promise<void> {
    return this.tail;
  }
}

// The session's turn queue: strict order, early answers, error isolation and draining, proved with gates.
import { describe, expect, it } from "vitest";
import { SerialQueue } from "../../src/domain/serial-queue";
import { gate, settle } from "./deferred";

describe("SerialQueue", () => {
  it("starts each task only after the one before it ended, in arrival order", async () => {
    const queue = new SerialQueue();
    const started: string[] = [];
    const gates = { a: gate(), b: gate(), c: gate() };
    const results = (["a", "b", "c"] as const).map((name) =>
      queue.run(async () => {
        started.push(name);
        await gates[name].promise;
        return name;
      }),
    );
    await settle();
    expect(started).toEqual(["a"]);
    gates.b.open(); // b is ready first, but must wait for a
    await settle();
    expect(started).toEqual(["a"]);
    gates.a.open();
    await settle();
    expect(started).toEqual(["a", "b", "c"]);
    gates.c.open();
    expect(await Promise.all(results)).toEqual(["a", "b", "c"]);
  });

  it("answers a caller early and holds the next task until the first one has finished its after-work", async () => {
    const queue = new SerialQueue();
    const afterWork = gate();
    const log: string[] = [];
    const first = queue.answerEarly<string>(async (respond) => {
      respond("reply");
      await afterWork.promise;
      log.push("first finished");
    });
    const second = queue.run(async () => log.push("second started"));
    expect(await first).toBe("reply");
    await settle();
    expect(log).toEqual([]);
    afterWork.open();
    await second;
    expect(log).toEqual(["first finished", "second started"]);
  });

  it("isolates a failing task: its caller gets the error, the next task runs", async () => {
    const queue = new SerialQueue();
    const failing = queue.run(async () => {
      throw new Error("agent down");
    });
    const next = queue.run(async () => "still served");
    await expect(failing).rejects.toThrow("agent down");
    expect(await next).toBe("still served");
  });

  it("reports an error thrown after answering to its handler, not the caller, and keeps going", async () => {
    const late: unknown[] = [];
    const queue = new SerialQueue(undefined, (error) => late.push(error));
    const answered = queue.answerEarly<number>(async (respond) => {
      respond(1);
      throw new Error("summary store failed");
    });
    expect(await answered).toBe(1);
    expect(await queue.run(async () => 2)).toBe(2);
    expect(late).toHaveLength(1);
    expect(String(late[0])).toContain("summary store failed");
  });

  it("rejects a caller whose task ended without answering", async () => {
    const queue = new SerialQueue();
    await expect(queue.answerEarly(async () => undefined)).rejects.toThrow("without answering");
  });

  it("drains: resolves once every task queued so far has ended, not the ones queued later", async () => {
    const queue = new SerialQueue();
    const a = gate();
    const later = gate();
    void queue.run(() => a.promise);
    let drained = false;
    void queue.drained().then(() => (drained = true));
    await settle();
    expect(drained).toBe(false);
    void queue.run(() => later.promise); // queued after the drain was asked for
    a.open();
    await settle();
    expect(drained).toBe(true);
    later.open();
  });

  it("tells the runtime about every task so the object stays alive until it ends", async () => {
    const kept: Promise<void>[] = [];
    const queue = new SerialQueue((done) => kept.push(done));
    const work = gate();
    const result = queue.run(() => work.promise.then(() => "done"));
    expect(kept).toHaveLength(1);
    let ended = false;
    void kept[0]!.then(() => (ended = true));
    await settle();
    expect(ended).toBe(false);
    work.open();
    await result;
    await settle();
    expect(ended).toBe(true);
  });
});

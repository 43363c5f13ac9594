// The session object's one alarm: the earliest wake-up asked for wins, and one that is already covered writes nothing.
import { expect, it, vi } from "vitest";
import { SessionAlarm } from "../../src/domain/session/wake-up";
import { MemoryStorage } from "./memory-storage";

it("sets the alarm for the earliest wake-up asked for and skips the ones it already covers", async () => {
  vi.useFakeTimers({ now: 1_000_000 });
  try {
    const storage = new MemoryStorage();
    const alarm = new SessionAlarm(storage.asStorage());
    await alarm.wakeUp(5000); // the outbox
    expect(storage.alarm).toBe(1_005_000);
    await alarm.wakeUp(2000); // the journal: sooner
    expect(storage.alarm).toBe(1_002_000);
    await alarm.wakeUp(5000); // covered by the sooner alarm
    expect(storage.alarm).toBe(1_002_000);
    expect(storage.alarmWrites).toBe(2);

    alarm.rang();
    storage.alarm = null; // the runtime clears an alarm when it goes off
    await alarm.wakeUp(5000);
    expect(storage.alarm).toBe(1_005_000);
  } finally {
    vi.useRealTimers();
  }
});

it("reads an alarm an earlier instance set before deciding", async () => {
  vi.useFakeTimers({ now: 1_000_000 });
  try {
    const storage = new MemoryStorage();
    storage.alarm = 1_000_500;
    await new SessionAlarm(storage.asStorage()).wakeUp(2000);
    expect(storage.alarm).toBe(1_000_500);
    expect(storage.alarmWrites).toBe(0);
  } finally {
    vi.useRealTimers();
  }
});

// Owns who watches a session's live turns: the connection hubs (by Durable Object id) that hold a v2 socket which
// asked about the session, kept in the object's storage so they outlive its eviction, and delivering each turn's
// events to them in order, several at a time when they come faster than a hub takes them. A hub with no socket
// watching any more says so, and is forgotten.
import { SESSION_STORAGE } from "./session-storage";
import type { TurnEvent } from "./turn-events";

/** Hands events to one hub; resolves with how many of its sockets took them. */
export type HubLink = (hubId: string, sessionId: string, events: TurnEvent[]) => Promise<number>;

const WATCHERS_KEY = SESSION_STORAGE.streamWatchers;
/** Hubs remembered per session; a user's tabs share a hub when they connect with ?user_id or a credential. */
const MAX_WATCHING_HUBS = 16;

export class Watchers {
  private hubs: string[] | undefined;
  private loading: Promise<string[]> | undefined;
  private readonly deliveries = new Map<string, HubDelivery>();

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly link: HubLink,
  ) {}

  /** Whether any hub watches (read from storage once per object lifetime). */
  async any(): Promise<boolean> {
    return (await this.list()).length > 0;
  }

  /** The hub watches from now on (the most recent first). */
  async add(hubId: string): Promise<void> {
    const hubs = await this.list();
    if (hubs[0] === hubId) return;
    const ordered = [hubId, ...hubs.filter((hub) => hub !== hubId)];
    for (const forgotten of ordered.slice(MAX_WATCHING_HUBS)) this.deliveries.delete(forgotten);
    this.hubs = ordered.slice(0, MAX_WATCHING_HUBS);
    await this.storage.put(WATCHERS_KEY, this.hubs);
  }

  /** Whether a hub watches now (known once any() or add() has run): a turn nobody watches builds no events. */
  get watched(): boolean {
    return (this.hubs?.length ?? 0) > 0;
  }

  /** Sends the event to every watching hub, behind the events sent to it before. */
  send(sessionId: string, event: TurnEvent): void {
    for (const hubId of this.hubs ?? []) this.deliveryTo(hubId, sessionId).push(event);
  }

  /** Resolves once the hub has been handed every event sent so far (whether or not it took them). */
  delivered(hubId: string): Promise<void> {
    return this.deliveries.get(hubId)?.idle() ?? Promise.resolve();
  }

  /** The session was deleted (its object's storage is emptied as one): no hub watches any more. */
  forget(): void {
    this.hubs = [];
    this.loading = undefined;
    this.deliveries.clear();
  }

  /** The hubs, read from storage once per object lifetime (concurrent first callers share the read). */
  private async list(): Promise<string[]> {
    if (this.hubs) return this.hubs;
    this.loading ??= this.storage.get<string[]>(WATCHERS_KEY).then((stored) => (this.hubs ??= stored ?? []));
    return this.loading;
  }

  private deliveryTo(hubId: string, sessionId: string): HubDelivery {
    let delivery = this.deliveries.get(hubId);
    if (!delivery) {
      delivery = new HubDelivery((events) => this.link(hubId, sessionId, events), () => this.drop(hubId));
      this.deliveries.set(hubId, delivery);
    }
    return delivery;
  }

  private drop(hubId: string): void {
    this.deliveries.delete(hubId);
    if (!this.hubs?.includes(hubId)) return;
    this.hubs = this.hubs.filter((hub) => hub !== hubId);
    void this.storage.put(WATCHERS_KEY, this.hubs);
  }
}

/** One hub's events in order: one call at a time, carrying every event queued while the previous was out. */
class HubDelivery {
  private queued: TurnEvent[] = [];
  private sending: Promise<void> | null = null;

  constructor(
    private readonly send: (events: TurnEvent[]) => Promise<number>,
    private readonly nobodyWatches: () => void,
  ) {}

  push(event: TurnEvent): void {
    this.queued.push(event);
    this.sending ??= this.drain();
  }

  idle(): Promise<void> {
    return this.sending ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    while (this.queued.length > 0) {
      const events = this.queued;
      this.queued = [];
      try {
        if ((await this.send(events)) === 0) this.nobodyWatches();
      } catch (error) {
        console.warn("turn events not delivered to a connection hub", error);
      }
    }
    this.sending = null;
  }
}

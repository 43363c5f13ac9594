// Owns refusing, before any session object wakes, what cannot be a valid turn or read: a user who does not exist,
// another user's session where its owner is known, and a session the database does not know whose id was not
// issued to the user (session-ids.ts), so garbage never wakes, and never creates, a session object. What a
// connection hub has learnt (users that exist, who owns which session) is kept in memory, so a warm turn reads
// nothing; a session of the user the database does not know yet (a turn of another connection may not be
// committed) is left to its object to check.
import type { AccountStore, SessionStore } from "../../storage/chat-store";
import { unknownUser } from "../accounts/accounts";
import type { SessionIds } from "../session/session-ids";
import { requireSessionOwner } from "../session/session-record";

/** Enough for a user's sessions; beyond it the oldest entries are forgotten (and read again when needed). */
const MAX_REMEMBERED = 10_000;

export class AccessGuard {
  private readonly users = new Set<string>();
  private readonly owners = new Map<string, string>();

  constructor(private readonly sessionIds: SessionIds) {}

  /** Throws the error the request gets when `userId` may not touch `sessionId` ("NEW": any new session). */
  async check(store: AccountStore & SessionStore, userId: string, sessionId: string | "NEW"): Promise<void> {
    const [userExists, owner] = await Promise.all([this.userExists(store, userId), sessionId === "NEW" ? null : this.ownerOf(store, sessionId)]);
    if (!userExists) throw unknownUser(userId);
    if (sessionId === "NEW") return;
    // The database's owner; for a session it does not know yet, this user when its id was issued to them (session-ids.ts).
    requireSessionOwner(owner ?? ((await this.sessionIds.issuedTo(userId, sessionId)) ? userId : null), userId);
  }

  /** A session this user's turn just created or used. */
  owns(userId: string, sessionId: string): void {
    remember(this.owners, sessionId, userId);
    rememberUser(this.users, userId);
  }

  private async userExists(store: AccountStore, userId: string): Promise<boolean> {
    if (this.users.has(userId)) return true;
    const exists = (await store.findUser(userId)) !== null;
    if (exists) rememberUser(this.users, userId);
    return exists;
  }

  /** The session's owner, or null when the database does not know the session (yet). */
  private async ownerOf(store: SessionStore, sessionId: string): Promise<string | null> {
    const known = this.owners.get(sessionId);
    if (known !== undefined) return known;
    const session = await store.findSession(sessionId);
    if (session) remember(this.owners, sessionId, session.userId);
    return session?.userId ?? null;
  }
}

function remember(map: Map<string, string>, key: string, value: string): void {
  if (map.size >= MAX_REMEMBERED) map.delete(map.keys().next().value!);
  map.set(key, value);
}

function rememberUser(users: Set<string>, userId: string): void {
  if (users.size >= MAX_REMEMBERED) users.delete(users.values().next().value!);
  users.add(userId);
}

// Owns how the Worker tells a connection hub which user a socket authenticated as: one header on the upgrade request,
// set only by the Worker (a client's own copy is always removed), read once by the hub when it accepts the socket.
const SOCKET_USER_HEADER = "x-chat-backend-socket-user";

export function withSocketUser(upgrade: Request, user: string | null): Request {
  const forwarded = new Request(upgrade);
  forwarded.headers.delete(SOCKET_USER_HEADER);
  if (user !== null) forwarded.headers.set(SOCKET_USER_HEADER, user);
  return forwarded;
}

export function socketUserOf(upgrade: Request): string | null {
  return upgrade.headers.get(SOCKET_USER_HEADER);
}

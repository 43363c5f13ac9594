// Owns a socket's frame rate limit: a token bucket of MAX_FRAMES_PER_SECOND that holds two seconds' worth, so a
// client may burst briefly; a frame over it is answered with code 109 and does nothing else.
export class FrameRate {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly perSecond: number,
    now: number,
  ) {
    this.tokens = 2 * perSecond;
    this.updatedAt = now;
  }

  /** Takes one frame's token; false when the socket is over its rate. */
  take(now: number): boolean {
    this.tokens = Math.min(2 * this.perSecond, this.tokens + ((now - this.updatedAt) / 1000) * this.perSecond);
    this.updatedAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

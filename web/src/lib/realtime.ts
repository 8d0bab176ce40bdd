// The session's realtime channel over the WebSocket API (docs/events.md): frames of numbered
// events, delivered to the room in order and never twice; a gap (a reconnect, a lost frame) is
// filled from `GET /live/events/{id}?after=` before anything newer is applied; a closed socket
// reconnects with backoff, unless the session ended or the server refuses this user.

import type { Api } from './api';
import type { Frame, LiveEvent } from './types';

export type SocketStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface LiveSocketHandlers {
  /** Events in `seq` order, each at most once; replies (`error`, `pong`) as they come. */
  onEvents(events: LiveEvent[]): void;
  onStatus(status: SocketStatus): void;
  /** The server refused to (re)connect several times in a row: the room asks the API why. */
  onRefused(): void;
}

const PING_MS = 4 * 60 * 1000;
const MAX_BACKOFF_MS = 15_000;
/** Handshakes refused in a row before the room is told (a kick, a ban or the end all refuse). */
const REFUSALS_TO_REPORT = 2;

export class LiveSocket {
  private socket: WebSocket | null = null;
  private lastTo: number | null = null;
  private pending: Frame[] = [];
  private resyncing = false;
  private stopped = false;
  private failures = 0;
  private opened = false;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private ping: ReturnType<typeof setInterval> | null = null;
  private readonly url: string;
  private readonly api: Api;
  private readonly sessionId: string;
  private readonly handlers: LiveSocketHandlers;

  constructor(wsUrl: string, api: Api, sessionId: string, handlers: LiveSocketHandlers) {
    const q = `token=${encodeURIComponent(api.token)}&session_id=${encodeURIComponent(sessionId)}`;
    this.url = `${wsUrl.replace(/\/$/, '')}/?${q}`;
    this.api = api;
    this.sessionId = sessionId;
    this.handlers = handlers;
  }

  /** The last sequence number applied (tests and resync read it). */
  get position(): number | null {
    return this.lastTo;
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  /** Closes for good (leaving the room, the session ended). */
  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.ping) clearInterval(this.ping);
    this.socket?.close(1000);
    this.socket = null;
    this.handlers.onStatus('closed');
  }

  /** Sends a frame (`{"action": "chat" | "react" | "ping", ...}`); false when not open. */
  send(frame: Record<string, unknown>): boolean {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  private open(): void {
    this.handlers.onStatus(this.lastTo === null && this.failures === 0 ? 'connecting' : 'reconnecting');
    this.opened = false;
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.onopen = () => {
      this.opened = true;
      this.failures = 0;
      this.handlers.onStatus('open');
      if (this.ping) clearInterval(this.ping);
      this.ping = setInterval(() => this.send({ action: 'ping' }), PING_MS);
      // Whatever happened while closed is fetched now, not when the next frame shows the gap.
      if (this.lastTo !== null) void this.resync(null);
    };
    socket.onmessage = (msg: MessageEvent<string>) => {
      let data: unknown;
      try {
        data = JSON.parse(msg.data);
      } catch {
        return;
      }
      const frame = data as Frame | LiveEvent;
      if (frame.type === 'events') this.receive(frame);
      else this.handlers.onEvents([frame]);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      if (this.ping) clearInterval(this.ping);
      this.socket = null;
      if (this.stopped) return;
      if (!this.opened) this.failures += 1;
      if (this.failures >= REFUSALS_TO_REPORT) this.handlers.onRefused();
      const backoff = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(this.failures, 5));
      this.handlers.onStatus('reconnecting');
      this.retry = setTimeout(() => this.open(), backoff);
    };
  }

  private receive(frame: Frame): void {
    if (this.resyncing) {
      this.pending.push(frame);
      return;
    }
    if (this.lastTo !== null && frame.to <= this.lastTo) return; // a repetition
    if (this.lastTo !== null && frame.from > this.lastTo + 1) {
      this.pending.push(frame);
      void this.resync(frame.from - 1);
      return;
    }
    this.apply(frame.events, frame.to);
  }

  private apply(events: LiveEvent[], to: number): void {
    const last = this.lastTo;
    const fresh = events
      .filter((e) => e.seq === undefined || last === null || e.seq > last)
      .sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
    this.lastTo = last === null ? to : Math.max(last, to);
    if (fresh.length) this.handlers.onEvents(fresh);
  }

  /** Fetches what was missed after `lastTo` (up to `until`, or everything kept), then the frames
   * that arrived meanwhile. */
  private async resync(until: number | null): Promise<void> {
    if (this.resyncing || this.lastTo === null) return;
    this.resyncing = true;
    try {
      for (;;) {
        const after: number = this.lastTo ?? 0;
        const page = await this.api.eventsAfter(this.sessionId, after);
        if (page.to > after) this.apply(page.events, page.to);
        const caughtUp = page.to >= page.last_seq || (until !== null && page.to >= until);
        if (page.to <= after || caughtUp) break;
      }
    } catch {
      // The frames themselves still carry what comes next; a later gap tries again.
    } finally {
      this.resyncing = false;
      const queued = this.pending.sort((a, b) => a.from - b.from);
      this.pending = [];
      for (const frame of queued) {
        if (this.lastTo !== null && frame.to <= this.lastTo) continue;
        if (this.lastTo !== null && frame.from > this.lastTo + 1) {
          // Still a hole the history could not fill (kept an hour): take the frame as the new start.
          this.lastTo = frame.from - 1;
        }
        this.apply(frame.events, frame.to);
      }
    }
  }
}

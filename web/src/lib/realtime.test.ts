import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Api } from './api';
import { LiveSocket } from './realtime';
import type { Frame, LiveEvent } from './types';

/** A WebSocket the test drives: it opens, delivers frames and closes when told. */
class FakeSocket {
  static OPEN = 1;
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: string[] = [];
  url: string;
  onopen: (() => void) | null = null;
  onmessage: ((m: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(url: string) {
    this.url = url;
    FakeSocket.all.push(this);
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  deliver(frame: Frame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.readyState = 3;
    this.onclose?.();
  }
}

const ev = (seq: number): LiveEvent => ({
  type: 'chat.message',
  seq,
  id: `e${seq}`,
  session_id: 's',
  ts: '2026-11-26T00:00:00Z',
  data: { id: `m${seq}`, session_id: 's', message: `#${seq}`, message_type: 'text', created_at: '2026-11-26T00:00:00Z' },
});
const frame = (from: number, to: number, seqs: number[]): Frame => ({ type: 'events', session_id: 's', from, to, events: seqs.map(ev) });

/** The history `GET /live/events?after=` serves: events 1..last. */
function fakeApi(last: number) {
  const calls: number[] = [];
  const api = {
    token: 't',
    eventsAfter: vi.fn(async (_sid: string, after: number) => {
      calls.push(after);
      const to = Math.min(last, after + 2); // pages of two, to exercise paging
      const events = [];
      for (let s = after + 1; s <= to; s++) events.push(ev(s));
      return { events, to, last_seq: last };
    }),
  };
  return { api: api as unknown as Api, calls };
}

function started(api: Api) {
  const seen: number[] = [];
  const statuses: string[] = [];
  const refused = vi.fn();
  const live = new LiveSocket('ws://gw', api, 's', {
    onEvents: (events) => seen.push(...events.map((e) => e.seq ?? -1)),
    onStatus: (s) => statuses.push(s),
    onRefused: refused,
  });
  live.start();
  return { live, seen, statuses, refused, socket: () => FakeSocket.all[FakeSocket.all.length - 1] };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('LiveSocket', () => {
  beforeEach(() => {
    FakeSocket.all = [];
    vi.stubGlobal('WebSocket', FakeSocket);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('connects with the token and session, applies frames in order and drops repetitions', () => {
    const { api } = fakeApi(0);
    const { seen, socket } = started(api);
    expect(socket().url).toBe('ws://gw/?token=t&session_id=s');
    socket().open();
    socket().deliver(frame(4, 5, [4, 5])); // the first frame is the start
    socket().deliver(frame(6, 8, [6, 8])); // 7 was for someone else: covered, not held
    socket().deliver(frame(6, 8, [6, 8])); // a repetition
    socket().deliver(frame(8, 9, [8, 9])); // overlapping: 8 again is dropped
    expect(seen).toEqual([4, 5, 6, 8, 9]);
  });

  it('fills a gap from the history before applying what came after it, once each', async () => {
    const { api, calls } = fakeApi(12);
    const { seen, socket } = started(api);
    socket().open();
    socket().deliver(frame(1, 2, [1, 2]));
    socket().deliver(frame(7, 8, [7, 8])); // 3..6 missed
    socket().deliver(frame(9, 9, [9])); // arrives while resyncing
    await settle();
    await settle();
    expect(calls[0]).toBe(2);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('reconnects after a close and catches up on what it missed while closed', async () => {
    vi.useFakeTimers();
    const { api, calls } = fakeApi(6);
    const { seen, socket, statuses } = started(api);
    socket().open();
    socket().deliver(frame(1, 3, [1, 2, 3]));
    const first = socket();
    first.close();
    expect(statuses).toContain('reconnecting');
    await vi.advanceTimersByTimeAsync(2_000);
    expect(socket()).not.toBe(first);
    socket().open();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls[0]).toBe(3);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('tells the room when the server keeps refusing it, and stops for good when asked', async () => {
    vi.useFakeTimers();
    const { api } = fakeApi(0);
    const { live, socket, refused } = started(api);
    socket().close(); // refused before opening
    await vi.advanceTimersByTimeAsync(2_000);
    socket().close();
    expect(refused).toHaveBeenCalled();
    live.stop();
    const count = FakeSocket.all.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all.length).toBe(count);
  });
});

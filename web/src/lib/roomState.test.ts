import { describe, expect, it } from 'vitest';
import { initialState, roomReducer, type RoomState } from './roomState';
import type { GuestRequest, LiveEvent, Participant, SessionView } from './types';

const session: SessionView = {
  id: 's',
  room_name: 'r',
  host_id: 'hana',
  host_username: 'hana',
  title: 'Show',
  description: '',
  session_type: 'camera',
  status: 'live',
  started_at: '2026-11-26T00:00:00Z',
  viewer_count: 1,
  peak_viewers: 1,
  guest_count: 0,
  max_participants: 100,
  allow_guests: true,
  require_approval: true,
  max_guests: 4,
  enable_chat: true,
  enable_gifts: true,
  chat_slow_mode: 0,
  guest_audio_default: true,
  guest_video_default: true,
};

const person = (user_id: string, over: Partial<Participant> = {}): Participant => ({
  session_id: 's',
  user_id,
  username: user_id,
  role: 'viewer',
  status: 'active',
  audio_enabled: true,
  video_enabled: true,
  screen_sharing: false,
  joined_at: '2026-11-26T00:00:00Z',
  ...over,
});

let seq = 0;
const event = (type: LiveEvent['type'], data: unknown): LiveEvent => ({ type, data, seq: ++seq, id: `e${seq}`, session_id: 's', ts: '' }) as LiveEvent;
const apply = (state: RoomState, ...events: LiveEvent[]) => roomReducer(state, { type: 'events', events });

describe('roomReducer', () => {
  it('shows viewers to hosts only, and stage members to everyone', () => {
    const host = initialState(session, 'hana', 'host');
    const viewer = initialState(session, 'theo', 'viewer');
    const joined = event('participant.joined', person('vera'));
    expect(Object.keys(apply(host, joined).participants)).toEqual(['vera']);
    expect(Object.keys(apply(viewer, joined).participants)).toEqual([]);
    const onStage = event('participant.updated', person('vera', { role: 'guest' }));
    expect(Object.keys(apply(viewer, joined, onStage).participants)).toEqual(['vera']);
    const left = event('participant.left', person('vera', { role: 'guest', status: 'left' }));
    expect(apply(viewer, joined, onStage, left).participants).toEqual({});
  });

  it('follows my own role, the host controls on me and my removal', () => {
    let me = initialState(session, 'vera', 'viewer');
    me = apply(me, event('participant.updated', person('vera', { role: 'guest' })));
    expect(me.role).toBe('guest');
    me = apply(me, event('participant.updated', person('vera', { role: 'guest', audio_enabled: false })));
    expect(me.participants.vera.audio_enabled).toBe(false);
    me = apply(me, event('participant.updated', person('vera', { role: 'guest', unmute_requested: 'audio' })));
    expect(me.unmuteAsked).toBe('audio');
    me = apply(me, event('participant.left', person('vera', { status: 'kicked' })));
    expect(me.removed).toBe('kicked');
  });

  it('keeps pending requests only', () => {
    const r: GuestRequest = {
      id: 'q',
      session_id: 's',
      user_id: 'vera',
      username: 'vera',
      request_type: 'guest',
      origin: 'request',
      status: 'pending',
      created_at: '',
    };
    let host = apply(initialState(session, 'hana', 'host'), event('guest_request.created', r));
    expect(Object.keys(host.requests)).toEqual(['q']);
    host = apply(host, event('guest_request.updated', { ...r, status: 'approved' }));
    expect(host.requests).toEqual({});
  });

  it('merges chat by id in time order, and floats what the reaction totals added', () => {
    const msg = (id: string, at: string) => ({ id, session_id: 's', message: id, message_type: 'text', created_at: at });
    let s = apply(initialState(session, 'theo', 'viewer'), event('chat.message', msg('b', '2026-11-26T00:00:02Z')));
    s = roomReducer(s, { type: 'sent', message: msg('a', '2026-11-26T00:00:01Z') as never });
    s = apply(s, event('chat.message', msg('b', '2026-11-26T00:00:02Z')));
    expect(s.messages.map((m) => m.id)).toEqual(['a', 'b']);
    s = apply(s, event('reactions', { totals: { fire: 2 } }));
    s = apply(s, event('reactions', { totals: { fire: 3, heart: 1 } }));
    expect(s.floaters.map((f) => f.reaction)).toEqual(['fire', 'fire', 'fire', 'heart']);
    s = roomReducer(s, { type: 'floated', key: s.floaters[0].key });
    expect(s.floaters).toHaveLength(3);
  });

  it('ends with session.ended', () => {
    const s = apply(initialState(session, 'theo', 'viewer'), event('session.ended', { session_id: 's', ended_at: '', duration_seconds: 5 }));
    expect(s.ended).toBe(true);
  });
});

describe('gifts', () => {
  const rose = { id: 'rose', name: 'Rose', emoji: '🌹', price: 1 };
  const gift = (id: string, combo: string, count: number): LiveEvent => ({
    type: 'gift.sent',
    id,
    session_id: 's',
    ts: '2026-11-26T00:00:01Z',
    data: {
      id,
      session_id: 's',
      sender_id: 'theo',
      recipient_id: 'hana',
      coins: 2,
      split: { recipient: 1, platform: 1 },
      gift: rose,
      quantity: 2,
      combo: { id: combo, count },
      created_at: '2026-11-26T00:00:01Z',
      sender: { user_id: 'theo', username: 'Theo' },
    },
  });

  it('shows one floater per combo, its count rising, and counts the revenue', () => {
    let state = initialState(session, 'hana', 'host');
    state = roomReducer(state, { type: 'events', events: [gift('g1', 'c1', 2), gift('g2', 'c1', 4)] });
    expect(state.gifts).toEqual([{ key: 'c1', emoji: '🌹', giftId: 'rose', sender: 'Theo', count: 4 }]);
    expect(state.session.gift_revenue).toBe(4);
    state = roomReducer(state, { type: 'events', events: [gift('g3', 'c2', 2)] });
    expect(state.gifts.map((g) => g.key)).toEqual(['c1', 'c2']);
    state = roomReducer(state, { type: 'giftFloated', key: 'c1' });
    expect(state.gifts.map((g) => g.key)).toEqual(['c2']);
  });

  it('counts a tip without a floater', () => {
    const tip: LiveEvent = { ...gift('t1', 'x', 1), type: 'tip.sent' } as LiveEvent;
    const state = roomReducer(initialState(session, 'hana', 'host'), { type: 'events', events: [tip] });
    expect(state.gifts).toEqual([]);
    expect(state.session.tip_revenue).toBe(2);
  });

  it('follows moderation, settings, going live and recording', () => {
    const said = { id: 'm1', session_id: 's', user_id: 'vera', username: 'vera', message: 'hi', message_type: 'text' as const, created_at: '2026-11-26T00:00:01Z' };
    let viewer = apply(initialState(session, 'theo', 'viewer'), event('chat.message', said));
    const pin = { message: said, pinned_by: 'hana', pinned_at: '2026-11-26T00:00:02Z' };
    viewer = apply(viewer, event('chat.pinned', pin));
    expect(viewer.session.pinned_message?.message.id).toBe('m1');
    expect(apply(viewer, event('chat.unpinned', { message_id: 'other', unpinned_by: 'hana' })).session.pinned_message).toEqual(pin);
    viewer = apply(viewer, event('chat.unpinned', { message_id: 'm1', unpinned_by: 'hana' }), event('chat.deleted', { message_id: 'm1', deleted_by: 'hana' }));
    expect(viewer.session.pinned_message).toBeNull();
    expect(viewer.messages).toEqual([]);

    const host = { ...initialState({ ...session, blocked_words: ['spam'] }, 'hana', 'host') };
    const settings = { ...session, chat_slow_mode: 10, enable_gifts: false };
    const changed = apply(host, event('settings.updated', { changed: ['chat_slow_mode', 'enable_gifts'], title: 'New', description: '', settings }));
    expect([changed.session.chat_slow_mode, changed.session.enable_gifts, changed.session.title]).toEqual([10, false, 'New']);
    expect(changed.session.blocked_words).toEqual(['spam']);

    const backstage = initialState({ ...session, status: 'backstage' }, 'hana', 'host');
    const live = apply(backstage, event('session.live', { session_id: 's', started_at: '2026-11-26T01:00:00Z', title: 'Show' }));
    expect([live.session.status, live.session.started_at]).toEqual(['live', '2026-11-26T01:00:00Z']);
    const rec = apply(live, event('recording.started', { status: 'active', started_at: '2026-11-26T01:00:05Z' }));
    expect(rec.session.recording?.status).toBe('active');
    expect(apply(rec, event('recording.stopped', { status: 'stopped', started_at: '2026-11-26T01:00:05Z', stopped_at: 'x' })).session.recording?.status).toBe('stopped');

    const timedOut = apply(initialState(session, 'vera', 'viewer'), event('chat.timeout', { user_id: 'vera', seconds: 60, until: '2026-11-26T00:01:00Z', by: 'hana' }));
    expect(timedOut.notice).toMatch(/timed you out/);
    expect(apply(initialState(session, 'theo', 'viewer'), event('chat.timeout', { user_id: 'vera', seconds: 60, by: 'hana' })).notice).toBeNull();
  });
});

// The room as this client knows it: loaded over HTTP once, then kept current by the session's
// events (docs/events.md). A pure reducer, so every event's effect is in one place.

import type { ChatMessage, GuestRequest, LiveEvent, Participant, Payment, ReactionType, Role, SessionView } from './types';

export type Removal = 'kicked' | 'banned';

export interface Floater {
  key: number;
  reaction: ReactionType;
}

/** A gift floating up the stage: one per combo, its count rising as the combo goes on. */
export interface GiftFloater {
  key: string;
  emoji: string;
  giftId: string;
  sender: string;
  count: number;
}

export interface RoomState {
  session: SessionView;
  me: string;
  role: Role;
  /** Stage members for everyone; viewers too for hosts and cohosts (their events reach them). */
  participants: Record<string, Participant>;
  /** Pending requests and invitations this user can see (all of them for hosts and cohosts). */
  requests: Record<string, GuestRequest>;
  messages: ChatMessage[];
  olderCursor: string | null;
  reactions: Partial<Record<ReactionType, number>>;
  floaters: Floater[];
  gifts: GiftFloater[];
  ended: boolean;
  removed: Removal | null;
  /** Set when the host lifts a mute: the app asks its user to unmute. */
  unmuteAsked: 'audio' | 'video' | null;
  /** A refusal of this socket's own frames, or a moderator's word to this user, shown to them. */
  notice: string | null;
}

export type RoomAction =
  | {
      type: 'loaded';
      session: SessionView;
      participants: Participant[];
      requests: GuestRequest[];
      messages: ChatMessage[];
      olderCursor: string | null;
    }
  | { type: 'events'; events: LiveEvent[] }
  | { type: 'older'; messages: ChatMessage[]; olderCursor: string | null }
  | { type: 'sent'; message: ChatMessage }
  | { type: 'request'; request: GuestRequest }
  | { type: 'participant'; participant: Participant }
  | { type: 'floated'; key: number }
  | { type: 'giftFloated'; key: string }
  | { type: 'removed'; how: Removal }
  | { type: 'ended' }
  | { type: 'dismiss' }
  | { type: 'session'; session: SessionView };

const MAX_MESSAGES = 500;
const MAX_FLOATERS = 24;
let floaterKey = 0;

export function initialState(session: SessionView, me: string, role: Role): RoomState {
  return {
    session,
    me,
    role,
    participants: {},
    requests: {},
    messages: [],
    olderCursor: null,
    reactions: session.reactions ?? {},
    floaters: [],
    gifts: [],
    ended: session.status === 'ended',
    removed: null,
    unmuteAsked: null,
    notice: null,
  };
}

export const isStaff = (role: Role): boolean => role === 'host' || role === 'cohost';
export const onStage = (role: Role): boolean => role !== 'viewer';

function mergeMessages(existing: ChatMessage[], incoming: ChatMessage[]): ChatMessage[] {
  const byId = new Map(existing.map((m) => [m.id, m]));
  for (const m of incoming) byId.set(m.id, m);
  const all = [...byId.values()].sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  return all.length > MAX_MESSAGES ? all.slice(all.length - MAX_MESSAGES) : all;
}

/** `record` without `key`. */
function without<T>(record: Record<string, T>, key: string): Record<string, T> {
  return Object.fromEntries(Object.entries(record).filter(([k]) => k !== key));
}

function withParticipant(state: RoomState, p: Participant): RoomState {
  const present = p.status === 'active' || p.status === 'muted';
  const participants =
    present && (onStage(p.role) || isStaff(state.role) || p.user_id === state.me)
      ? { ...state.participants, [p.user_id]: p }
      : without(state.participants, p.user_id);
  let { role, removed, unmuteAsked } = state;
  if (p.user_id === state.me) {
    role = p.role;
    if (p.status === 'kicked' || p.status === 'banned') removed = p.status;
    if (p.unmute_requested) unmuteAsked = p.unmute_requested;
  }
  return { ...state, participants, role, removed, unmuteAsked };
}

function withRequest(state: RoomState, r: GuestRequest): RoomState {
  const requests = r.status === 'pending' ? { ...state.requests, [r.id]: r } : without(state.requests, r.id);
  return { ...state, requests };
}

function withReactions(state: RoomState, totals: Partial<Record<ReactionType, number>>): RoomState {
  const floaters = [...state.floaters];
  for (const [reaction, total] of Object.entries(totals) as [ReactionType, number][]) {
    const added = total - (state.reactions[reaction] ?? 0);
    for (let i = 0; i < Math.min(added, 5); i++) floaters.push({ key: ++floaterKey, reaction });
  }
  return {
    ...state,
    reactions: { ...state.reactions, ...totals },
    floaters: floaters.slice(-MAX_FLOATERS),
  };
}

const MAX_GIFTS = 8;

/** A gift or tip: the session's revenue, and for a gift its floater (a combo replaces its own). */
function withPayment(state: RoomState, p: Payment, tip: boolean): RoomState {
  const session = tip
    ? { ...state.session, tip_revenue: (state.session.tip_revenue ?? 0) + p.coins }
    : { ...state.session, gift_revenue: (state.session.gift_revenue ?? 0) + p.coins };
  if (tip || !p.gift) return { ...state, session };
  const key = p.combo?.id ?? p.id;
  const floater: GiftFloater = {
    key,
    emoji: p.gift.emoji,
    giftId: p.gift.id,
    sender: p.sender?.username ?? p.sender_id,
    count: p.combo?.count ?? p.quantity ?? 1,
  };
  const gifts = [...state.gifts.filter((g) => g.key !== key), floater].slice(-MAX_GIFTS);
  return { ...state, session, gifts };
}

function applyEvent(state: RoomState, event: LiveEvent): RoomState {
  switch (event.type) {
    case 'chat.message':
      return { ...state, messages: mergeMessages(state.messages, [event.data]) };
    case 'reactions':
      return withReactions(state, event.data.totals);
    case 'viewer_count':
      return { ...state, session: { ...state.session, ...event.data } };
    case 'participant.joined':
    case 'participant.left':
    case 'participant.updated':
      return withParticipant(state, event.data);
    case 'guest_request.created':
    case 'guest_request.updated':
      return withRequest(state, event.data);
    case 'session.ended':
      return { ...state, ended: true, session: { ...state.session, status: 'ended', ended_at: event.data.ended_at } };
    case 'gift.sent':
      return withPayment(state, event.data, false);
    case 'tip.sent':
      return withPayment(state, event.data, true);
    case 'chat.deleted': {
      const messages = state.messages.filter((m) => m.id !== event.data.message_id);
      return { ...state, messages };
    }
    case 'chat.pinned':
      return { ...state, session: { ...state.session, pinned_message: event.data } };
    case 'chat.unpinned':
      return state.session.pinned_message?.message.id === event.data.message_id
        ? { ...state, session: { ...state.session, pinned_message: null } }
        : state;
    case 'chat.timeout': {
      if (event.data.user_id !== state.me) return state;
      const notice = event.data.until
        ? `A moderator timed you out of the chat until ${new Date(event.data.until).toLocaleTimeString()}.`
        : 'A moderator lifted your chat timeout.';
      return { ...state, notice };
    }
    case 'settings.updated': {
      // Viewers' events carry no blocked words: the list this user holds (a moderator's) stays.
      const blocked_words = state.session.blocked_words;
      const { title, description } = event.data;
      return { ...state, session: { ...state.session, ...event.data.settings, blocked_words, title, description } };
    }
    case 'session.live':
      return { ...state, session: { ...state.session, status: 'live', started_at: event.data.started_at } };
    case 'recording.started':
    case 'recording.stopped':
      return { ...state, session: { ...state.session, recording: { ...state.session.recording, ...event.data } } };
    case 'error':
      return { ...state, notice: event.data.detail || event.data.title };
    case 'pong':
      return state;
  }
}

export function roomReducer(state: RoomState, action: RoomAction): RoomState {
  switch (action.type) {
    case 'loaded': {
      let next: RoomState = {
        ...state,
        session: action.session,
        reactions: action.session.reactions ?? state.reactions,
        ended: action.session.status === 'ended',
        participants: {},
        requests: {},
        olderCursor: action.olderCursor,
        messages: mergeMessages(state.messages, action.messages),
      };
      for (const p of action.participants) next = withParticipant(next, p);
      for (const r of action.requests) next = withRequest(next, r);
      return next;
    }
    case 'events':
      return action.events.reduce(applyEvent, state);
    case 'older':
      return { ...state, messages: mergeMessages(action.messages, state.messages), olderCursor: action.olderCursor };
    case 'sent':
      return { ...state, messages: mergeMessages(state.messages, [action.message]) };
    case 'request':
      return withRequest(state, action.request);
    case 'participant':
      return withParticipant(state, action.participant);
    case 'floated':
      return { ...state, floaters: state.floaters.filter((f) => f.key !== action.key) };
    case 'giftFloated':
      return { ...state, gifts: state.gifts.filter((g) => g.key !== action.key) };
    case 'removed':
      return { ...state, removed: action.how };
    case 'ended':
      return { ...state, ended: true };
    case 'dismiss':
      return { ...state, notice: null, unmuteAsked: null };
    case 'session':
      return { ...state, session: { ...state.session, ...action.session } };
  }
}

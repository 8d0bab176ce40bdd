// The API's shapes, as docs/openapi.json and docs/events.md define them (the fields this client reads).

export type Role = 'host' | 'cohost' | 'guest' | 'viewer';
export type SessionType = 'voice' | 'camera' | 'studio';
export type ReactionType = 'heart' | 'fire' | 'clap' | 'wow' | 'sad';
export type ParticipantStatus = 'active' | 'muted' | 'kicked' | 'banned' | 'left';
export type RequestStatus = 'pending' | 'approved' | 'rejected' | 'cancelled' | 'expired';
export type RequestType = 'guest' | 'cohost';
export type Action =
  | 'mute_audio'
  | 'unmute_audio'
  | 'mute_video'
  | 'unmute_video'
  | 'allow_screen_share'
  | 'disallow_screen_share'
  | 'kick'
  | 'ban'
  | 'promote_cohost'
  | 'demote';

export interface Settings {
  max_participants: number;
  allow_guests: boolean;
  require_approval: boolean;
  max_guests: number;
  enable_chat: boolean;
  enable_gifts: boolean;
  chat_slow_mode: number;
  guest_audio_default: boolean;
  guest_video_default: boolean;
  blocked_words?: string[];
  /** `paid`: joining needs a ticket of `ticket_price` coins. */
  access?: 'public' | 'paid' | 'subscribers';
  ticket_price?: number | null;
}

export interface SessionView extends Settings {
  id: string;
  room_name: string;
  host_id: string;
  host_username: string;
  host_avatar_url?: string | null;
  title: string;
  description: string;
  session_type: SessionType;
  /** `backstage`: opened backstage, not live yet (the host and invited guests only). */
  status: 'backstage' | 'live' | 'ended';
  started_at: string;
  ended_at?: string | null;
  viewer_count: number;
  peak_viewers: number;
  guest_count: number;
  reactions?: Partial<Record<ReactionType, number>>;
  gift_revenue?: number;
  tip_revenue?: number;
  ticket_revenue?: number;
  top_gifters?: Gifter[];
  pinned_message?: PinnedMessage | null;
  recording?: Recording | null;
}

/** A chat message pinned above the chat (`PUT /live/pin/{session_id}`, `chat.pinned`). */
export interface PinnedMessage {
  message: ChatMessage;
  pinned_by: string;
  pinned_at: string;
  expires_at?: string | null;
}

/** The session's recording (`POST /live/recording/{session_id}`). */
export interface Recording {
  status: 'starting' | 'active' | 'stopped';
  started_at: string;
  stopped_at?: string | null;
  location?: string | null;
}

/** What `PATCH /live/settings/{session_id}` may change. */
export type SettingsPatch = Partial<
  Pick<
    Settings,
    | 'chat_slow_mode'
    | 'enable_chat'
    | 'enable_gifts'
    | 'allow_guests'
    | 'require_approval'
    | 'max_guests'
    | 'max_participants'
    | 'blocked_words'
  > & { title: string; description: string }
>;

/** `GET /live/analytics/{session_id}` and `GET /live/analytics` (README, Analytics). */
export interface Analytics {
  sessions: number;
  duration_seconds: number;
  peak_viewers: number;
  unique_viewers: number;
  average_view_seconds: number;
  median_view_seconds: number;
  viewers_per_minute: number[];
  guests_on_stage: number;
  stage_seconds: number;
  guest_request_rate: number;
  chat_messages: number;
  chat_per_minute: number[];
  reactions: Partial<Record<ReactionType, number>>;
  gift_revenue: number;
  tips: number;
  tickets: number;
  top_gifters: Gifter[];
}

/** One gift of the catalogue (`GET /live/gifts`). */
export interface Gift {
  id: string;
  name: string;
  emoji: string;
  price: number;
}

export interface Wallet {
  user_id: string;
  balance: number;
  earnings: number;
}

export interface Gifter {
  user_id: string;
  username: string;
  coins: number;
}

/** A gift's or tip's answer, also the `gift.sent` / `tip.sent` event (with `sender`). */
export interface Payment {
  id: string;
  session_id: string;
  sender_id: string;
  recipient_id: string;
  coins: number;
  split: { recipient: number; platform: number };
  gift?: Gift;
  quantity?: number;
  message?: string;
  combo?: { id: string; count: number };
  created_at: string;
  sender?: { user_id: string; username: string; avatar_url?: string | null };
}

export interface TicketReceipt {
  id: string;
  session_id: string;
  user_id: string;
  price: number;
  bought: boolean;
}

export interface WebrtcConfig {
  server_url: string;
  room_name: string;
  participant_token: string;
}

export interface JoinResponse {
  session_id: string;
  room_name: string;
  access_token: string;
  webrtc_config: WebrtcConfig;
  role: Role;
  can_request_guest: boolean;
  joined: boolean;
  token_ttl_seconds: number;
}

export type StartResponse = SessionView & {
  session_id: string;
  access_token: string;
  webrtc_config: WebrtcConfig;
  role: Role;
  token_ttl_seconds: number;
};

export interface StartRequest {
  title: string;
  description?: string;
  session_type?: SessionType;
  max_participants?: number;
  allow_guests?: boolean;
  require_approval?: boolean;
  max_guests?: number;
  enable_chat?: boolean;
  enable_gifts?: boolean;
  chat_slow_mode?: number;
  guest_audio_default?: boolean;
  guest_video_default?: boolean;
  blocked_words?: string[];
  /** `paid`: viewers buy a ticket of `ticket_price` coins; `subscribers`: the listed users only. */
  access?: 'public' | 'paid' | 'subscribers';
  ticket_price?: number;
  /** Open backstage: unlisted, no viewers, until `POST /live/go-live/{session_id}`. */
  backstage?: boolean;
}

export interface Participant {
  session_id: string;
  user_id: string;
  username: string;
  avatar_url?: string | null;
  role: Role;
  status: ParticipantStatus;
  audio_enabled: boolean;
  video_enabled: boolean;
  screen_sharing: boolean;
  screen_share_allowed?: boolean;
  connected?: boolean;
  audio_published?: boolean;
  video_published?: boolean;
  joined_at: string;
  left_at?: string | null;
  /** On `participant.updated` after `unmute_audio` / `unmute_video`. */
  unmute_requested?: 'audio' | 'video';
}

export interface GuestRequest {
  id: string;
  session_id: string;
  user_id: string;
  username: string;
  request_type: RequestType;
  origin: 'request' | 'invitation';
  status: RequestStatus;
  message?: string | null;
  invited_by?: string | null;
  expires_at?: string | null;
  created_at: string;
  responded_at?: string | null;
}

export interface ChatMessage {
  id: string;
  session_id: string;
  user_id?: string | null;
  username?: string | null;
  message: string;
  message_type: 'text' | 'sticker' | 'gift' | 'system';
  metadata?: Record<string, unknown> | null;
  created_at: string;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** An RFC 9457 problem, as every refusal carries it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  field?: string | null;
  code?: string | null;
  retry_after?: number | null;
  /** `402`: the wallet's balance, and what the refused payment needed. */
  balance?: number | null;
  needed?: number | null;
}

/** One event of a frame (`docs/events.md`). */
export type LiveEvent =
  | Envelope<'chat.message', ChatMessage>
  | Envelope<'reactions', { totals: Partial<Record<ReactionType, number>> }>
  | Envelope<'viewer_count', { viewer_count: number; peak_viewers: number; guest_count: number }>
  | Envelope<'participant.joined' | 'participant.left' | 'participant.updated', Participant>
  | Envelope<'guest_request.created' | 'guest_request.updated', GuestRequest>
  | Envelope<'session.ended', { session_id: string; ended_at: string; duration_seconds: number }>
  | Envelope<'gift.sent' | 'tip.sent', Payment>
  | Envelope<'chat.deleted', { message_id: string; deleted_by: string }>
  | Envelope<'chat.pinned', PinnedMessage>
  | Envelope<'chat.unpinned', { message_id: string; unpinned_by: string }>
  | Envelope<'chat.timeout', { user_id: string; seconds: number; until?: string | null; by: string }>
  | Envelope<'settings.updated', { changed: string[]; title: string; description: string; settings: Settings }>
  | Envelope<'session.live', { session_id: string; started_at: string; title: string }>
  | Envelope<'recording.started' | 'recording.stopped', Recording>
  | Envelope<'error', Problem>
  | Envelope<'pong', Record<string, never>>;

export interface Envelope<T extends string, D> {
  type: T;
  seq?: number;
  id: string;
  session_id: string;
  data: D;
  ts: string;
}

/** A frame of events (`{"type": "events", "from", "to", "events"}`). */
export interface Frame {
  type: 'events';
  session_id: string;
  from: number;
  to: number;
  events: LiveEvent[];
}

export const REACTIONS: { type: ReactionType; emoji: string; label: string }[] = [
  { type: 'heart', emoji: '❤️', label: 'Heart' },
  { type: 'fire', emoji: '🔥', label: 'Fire' },
  { type: 'clap', emoji: '👏', label: 'Clap' },
  { type: 'wow', emoji: '😮', label: 'Wow' },
  { type: 'sad', emoji: '😢', label: 'Sad' },
];

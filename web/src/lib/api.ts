// The HTTP API client: one method per endpoint the room uses, every refusal an `ApiError` carrying
// the server's problem+json, so the page can say in words what went wrong.

import type {
  Action,
  Analytics,
  ChatMessage,
  Gift,
  GuestRequest,
  JoinResponse,
  LiveEvent,
  Page,
  Participant,
  Payment,
  PinnedMessage,
  Problem,
  ReactionType,
  Recording,
  RequestStatus,
  RequestType,
  SessionView,
  SettingsPatch,
  StartRequest,
  StartResponse,
  TicketReceipt,
  Wallet,
} from './types';

export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail || problem.title);
    this.name = 'ApiError';
    this.status = problem.status;
    this.problem = problem;
  }

  /** Seconds until a refused (429) request may be retried. */
  get retryAfter(): number | null {
    return this.problem.retry_after ?? null;
  }
}

/** Words for any failure: the server's detail, or what went wrong on the way. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return 'The server could not be reached. Check your connection and try again.';
  if (error instanceof Error) return error.message;
  return String(error);
}

export class Api {
  readonly base: string;
  readonly token: string;

  constructor(base: string, token: string) {
    this.base = base;
    this.token = token;
  }

  private async call<T>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
    idempotencyKey?: string,
  ): Promise<{ data: T; headers: Headers }> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    // Payments require one: a retry of this call then pays nothing twice.
    if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
    const resp = await fetch(`${this.base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await resp.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (!resp.ok) {
      const p = (parsed ?? {}) as Partial<Problem> & { message?: string };
      throw new ApiError({
        type: p.type ?? 'about:blank',
        title: p.title ?? resp.statusText,
        status: resp.status,
        detail: p.detail ?? p.message ?? `The server answered ${resp.status} ${resp.statusText}.`,
        field: p.field ?? null,
        code: p.code ?? null,
        retry_after: p.retry_after ?? (Number(resp.headers.get('retry-after')) || null),
        balance: p.balance ?? null,
        needed: p.needed ?? null,
      });
    }
    return { data: parsed as T, headers: resp.headers };
  }

  async active(cursor?: string): Promise<Page<SessionView>> {
    const q = cursor ? `?cursor=${encodeURIComponent(cursor)}` : '';
    const { data, headers } = await this.call<SessionView[]>('GET', `/live/active${q}`);
    return { items: data, next_cursor: headers.get('x-next-cursor') };
  }

  async session(id: string): Promise<SessionView> {
    return (await this.call<SessionView>('GET', `/live/session/${id}`)).data;
  }

  async start(request: StartRequest): Promise<StartResponse> {
    return (await this.call<StartResponse>('POST', '/live/start', request)).data;
  }

  async join(sessionId: string): Promise<JoinResponse> {
    return (await this.call<JoinResponse>('POST', '/live/join', { session_id: sessionId })).data;
  }

  async leave(sessionId: string): Promise<void> {
    await this.call('POST', '/live/leave', { session_id: sessionId });
  }

  async end(sessionId: string): Promise<void> {
    await this.call('POST', `/live/end/${sessionId}`);
  }

  async participants(sessionId: string): Promise<Participant[]> {
    const all: Participant[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `?cursor=${encodeURIComponent(cursor)}` : '';
      const { data, headers } = await this.call<Participant[]>('GET', `/live/participants/${sessionId}${q}`);
      all.push(...data);
      cursor = headers.get('x-next-cursor');
    } while (cursor && all.length < 1000);
    return all;
  }

  async messages(sessionId: string, before?: string): Promise<Page<ChatMessage>> {
    const q = before ? `&before=${encodeURIComponent(before)}` : '';
    const { data } = await this.call<{ messages: ChatMessage[]; next_cursor?: string | null }>(
      'GET',
      `/live/messages/${sessionId}?limit=30${q}`,
    );
    return { items: data.messages, next_cursor: data.next_cursor ?? null };
  }

  async sendMessage(sessionId: string, message: string): Promise<ChatMessage> {
    return (await this.call<ChatMessage>('POST', '/live/send-message', { session_id: sessionId, message })).data;
  }

  async react(sessionId: string, reaction: ReactionType): Promise<void> {
    await this.call('POST', '/live/react', { session_id: sessionId, reaction_type: reaction });
  }

  async guestRequests(sessionId: string, status?: RequestStatus): Promise<GuestRequest[]> {
    const q = status ? `?status=${status}` : '';
    return (await this.call<{ requests: GuestRequest[] }>('GET', `/live/guest-requests/${sessionId}${q}`)).data.requests;
  }

  async requestGuest(sessionId: string, message: string, type: RequestType = 'guest'): Promise<GuestRequest> {
    const body = { session_id: sessionId, request_type: type, message: message.trim() || null };
    return (await this.call<GuestRequest>('POST', '/live/request-guest', body)).data;
  }

  async cancelRequest(sessionId: string, requestId: string): Promise<GuestRequest> {
    const body = { session_id: sessionId, request_id: requestId };
    return (await this.call<GuestRequest>('POST', '/live/cancel-guest-request', body)).data;
  }

  async respondRequest(sessionId: string, requestId: string, action: 'approved' | 'rejected'): Promise<GuestRequest> {
    const body = { session_id: sessionId, request_id: requestId, action };
    return (await this.call<GuestRequest>('POST', '/live/respond-guest-request', body)).data;
  }

  async invite(sessionId: string, userId: string, type: RequestType = 'guest'): Promise<GuestRequest> {
    const body = { session_id: sessionId, user_id: userId, request_type: type };
    return (await this.call<GuestRequest>('POST', '/live/invite-guest', body)).data;
  }

  async respondInvite(sessionId: string, requestId: string, action: 'accepted' | 'declined'): Promise<GuestRequest> {
    const body = { session_id: sessionId, request_id: requestId, action };
    return (await this.call<GuestRequest>('POST', '/live/respond-invite', body)).data;
  }

  async manage(sessionId: string, userId: string, action: Action): Promise<Participant> {
    const body = { session_id: sessionId, user_id: userId, action };
    return (await this.call<{ participant: Participant }>('POST', '/live/manage-participant', body)).data.participant;
  }

  async gifts(): Promise<Gift[]> {
    return (await this.call<{ gifts: Gift[] }>('GET', '/live/gifts')).data.gifts;
  }

  async wallet(): Promise<Wallet> {
    return (await this.call<Wallet>('GET', '/live/wallet')).data;
  }

  async sendGift(sessionId: string, giftId: string, quantity = 1, recipientId?: string): Promise<Payment> {
    const body = { session_id: sessionId, gift_id: giftId, quantity, recipient_id: recipientId ?? null };
    return (await this.call<Payment>('POST', '/live/send-gift', body, crypto.randomUUID())).data;
  }

  async buyTicket(sessionId: string): Promise<TicketReceipt> {
    const body = { session_id: sessionId };
    return (await this.call<TicketReceipt>('POST', '/live/buy-ticket', body, crypto.randomUUID())).data;
  }

  async deleteMessage(sessionId: string, messageId: string): Promise<void> {
    await this.call('DELETE', `/live/messages/${sessionId}/${messageId}`);
  }

  /** Times `userId` out of the chat for `seconds` (`0` lifts it). */
  async timeout(sessionId: string, userId: string, seconds: number): Promise<void> {
    await this.call('POST', '/live/chat-timeout', { session_id: sessionId, user_id: userId, seconds });
  }

  async pin(sessionId: string, messageId: string, expiresInSeconds?: number): Promise<PinnedMessage> {
    const body = { message_id: messageId, expires_in_seconds: expiresInSeconds ?? null };
    return (await this.call<PinnedMessage>('PUT', `/live/pin/${sessionId}`, body)).data;
  }

  async unpin(sessionId: string): Promise<void> {
    await this.call('DELETE', `/live/pin/${sessionId}`);
  }

  async updateSettings(sessionId: string, patch: SettingsPatch): Promise<SessionView> {
    return (await this.call<SessionView>('PATCH', `/live/settings/${sessionId}`, patch)).data;
  }

  async goLive(sessionId: string): Promise<SessionView> {
    return (await this.call<SessionView>('POST', `/live/go-live/${sessionId}`)).data;
  }

  async record(sessionId: string, action: 'start' | 'stop'): Promise<Recording> {
    return (await this.call<Recording>('POST', `/live/recording/${sessionId}`, { action })).data;
  }

  async analytics(sessionId: string): Promise<Analytics> {
    return (await this.call<Analytics>('GET', `/live/analytics/${sessionId}`)).data;
  }

  /** Events after `after` (resync after a gap): `to` is the last sequence number covered. */
  async eventsAfter(sessionId: string, after: number): Promise<{ events: LiveEvent[]; to: number; last_seq: number }> {
    const path = `/live/events/${sessionId}?after=${after}`;
    return (await this.call<{ events: LiveEvent[]; to: number; last_seq: number }>('GET', path)).data;
  }
}

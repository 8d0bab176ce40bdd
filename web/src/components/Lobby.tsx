// The lobby: live sessions (title, host, viewers, guests / max) and the form that starts one with
// every setting `POST /live/start` takes.

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { describe, type Api } from '../lib/api';
import type { SessionType, SessionView, StartRequest } from '../lib/types';
import { Alert } from './Alert';

const REFRESH_MS = 10_000;

export function Lobby({ api, onEnter }: { api: Api; onEnter: (sessionId: string) => void }) {
  const [sessions, setSessions] = useState<SessionView[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    try {
      const page = await api.active();
      setSessions(page.items);
      setCursor(page.next_cursor);
      setError(null);
    } catch (e) {
      setError(describe(e));
    }
  }, [api]);

  const more = async () => {
    if (!cursor) return;
    try {
      const page = await api.active(cursor);
      setSessions((s) => [...(s ?? []), ...page.items.filter((x) => !(s ?? []).some((y) => y.id === x.id))]);
      setCursor(page.next_cursor);
    } catch (e) {
      setError(describe(e));
    }
  };

  useEffect(() => {
    void refresh();
    const timer = setInterval(() => void refresh(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [refresh]);

  return (
    <main className="page lobby">
      <section aria-labelledby="live-now">
        <div className="row spread">
          <h1 id="live-now">Live now</h1>
          <button type="button" onClick={() => void refresh()}>
            Refresh
          </button>
        </div>
        <Alert>{error}</Alert>
        {sessions === null ? (
          <p aria-busy="true">Loading live sessions…</p>
        ) : sessions.length === 0 ? (
          <p className="muted">Nobody is live right now. Start a live below.</p>
        ) : (
          <ul className="sessions">
            {sessions.map((s) => (
              <li key={s.id} className="card session-card" data-testid="session-card">
                <div>
                  <h2>{s.title}</h2>
                  <p className="muted">
                    {s.host_username} · {s.session_type}
                  </p>
                  <p>
                    <span aria-label="viewers">👁 {s.viewer_count} watching</span> ·{' '}
                    <span aria-label="guests">
                      {s.guest_count}/{s.max_guests} guests
                    </span>
                  </p>
                </div>
                <button type="button" className="primary" onClick={() => onEnter(s.id)} aria-label={`Join ${s.title}`}>
                  Join
                </button>
              </li>
            ))}
          </ul>
        )}
        {cursor && (
          <button type="button" onClick={() => void more()}>
            More sessions
          </button>
        )}
      </section>
      <StartForm api={api} onStarted={onEnter} />
    </main>
  );
}

function StartForm({ api, onStarted }: { api: Api; onStarted: (sessionId: string) => void }) {
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [sessionType, setSessionType] = useState<SessionType>('camera');
  const [maxParticipants, setMaxParticipants] = useState(1000);
  const [maxGuests, setMaxGuests] = useState(4);
  const [allowGuests, setAllowGuests] = useState(true);
  const [requireApproval, setRequireApproval] = useState(true);
  const [enableChat, setEnableChat] = useState(true);
  const [enableGifts, setEnableGifts] = useState(true);
  const [slowMode, setSlowMode] = useState(0);
  const [guestAudio, setGuestAudio] = useState(true);
  const [guestVideo, setGuestVideo] = useState(true);
  const [blockedWords, setBlockedWords] = useState('');
  const [paid, setPaid] = useState(false);
  const [backstage, setBackstage] = useState(false);
  const [ticketPrice, setTicketPrice] = useState(100);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const request: StartRequest = {
      title: title.trim(),
      description: description.trim() || undefined,
      session_type: sessionType,
      max_participants: maxParticipants,
      allow_guests: allowGuests,
      require_approval: requireApproval,
      max_guests: maxGuests,
      enable_chat: enableChat,
      enable_gifts: enableGifts,
      chat_slow_mode: slowMode,
      guest_audio_default: guestAudio,
      guest_video_default: guestVideo,
      blocked_words: blockedWords
        .split(',')
        .map((w) => w.trim())
        .filter(Boolean),
      ...(paid ? { access: 'paid' as const, ticket_price: ticketPrice } : {}),
      ...(backstage ? { backstage: true } : {}),
    };
    try {
      const started = await api.start(request);
      onStarted(started.session_id);
    } catch (err) {
      setError(describe(err));
      setBusy(false);
    }
  };

  const check = (id: string, label: string, value: boolean, set: (v: boolean) => void) => (
    <label className="check" htmlFor={id}>
      <input id={id} type="checkbox" checked={value} onChange={(e) => set(e.target.checked)} /> {label}
    </label>
  );

  const count = (id: string, label: string, value: number, set: (v: number) => void, min: number, max: number) => (
    <div>
      <label htmlFor={id}>{label}</label>
      <input id={id} type="number" min={min} max={max} value={value} onChange={(e) => set(Number(e.target.value))} />
    </div>
  );

  return (
    <section aria-labelledby="go-live">
      <form className="card start-form" onSubmit={(e) => void submit(e)}>
        <h2 id="go-live">Go live</h2>
        <label htmlFor="start-title">Title</label>
        <input id="start-title" value={title} onChange={(e) => setTitle(e.target.value)} maxLength={200} required />
        <label htmlFor="start-description">Description</label>
        <textarea id="start-description" value={description} onChange={(e) => setDescription(e.target.value)} rows={2} />
        <label htmlFor="start-type">Type</label>
        <select id="start-type" value={sessionType} onChange={(e) => setSessionType(e.target.value as SessionType)}>
          <option value="camera">Camera (video and audio)</option>
          <option value="voice">Voice only</option>
          <option value="studio">Studio (screen share)</option>
        </select>
        <div className="grid2">
          {count('start-max-participants', 'Max participants', maxParticipants, setMaxParticipants, 2, 10000)}
          {count('start-max-guests', 'Max guests on stage', maxGuests, setMaxGuests, 0, 20)}
          {count('start-slow-mode', 'Chat slow mode (seconds)', slowMode, setSlowMode, 0, 3600)}
        </div>
        <fieldset>
          <legend>Settings</legend>
          {check('start-allow-guests', 'Allow guests on stage', allowGuests, setAllowGuests)}
          {check('start-require-approval', 'Approve guest requests', requireApproval, setRequireApproval)}
          {check('start-enable-chat', 'Chat', enableChat, setEnableChat)}
          {check('start-enable-gifts', 'Gifts', enableGifts, setEnableGifts)}
          {check('start-guest-audio', 'Guests start with microphone on', guestAudio, setGuestAudio)}
          {check('start-guest-video', 'Guests start with camera on', guestVideo, setGuestVideo)}
          {check('start-paid', 'Paid entry (viewers buy a ticket)', paid, setPaid)}
          {check('start-backstage', 'Start backstage (go live when ready)', backstage, setBackstage)}
        </fieldset>
        {paid && count('start-ticket-price', 'Ticket price (coins)', ticketPrice, setTicketPrice, 1, 1000000)}
        <label htmlFor="start-blocked">Blocked words (comma-separated)</label>
        <input id="start-blocked" value={blockedWords} onChange={(e) => setBlockedWords(e.target.value)} />
        <Alert>{error}</Alert>
        <button type="submit" className="primary" disabled={busy || !title.trim()}>
          {busy ? 'Starting…' : 'Go live'}
        </button>
      </form>
    </section>
  );
}

// Chat: the newest messages live, earlier ones through the history's cursor paging, system
// messages set apart, slow mode shown as a countdown and every refusal (429 included) in words.

import { useEffect, useRef, useState, type Dispatch, type FormEvent } from 'react';
import { ApiError, describe, type Api } from '../lib/api';
import { isStaff, type RoomAction, type RoomState } from '../lib/roomState';
import type { ChatMessage } from '../lib/types';
import { Alert } from './Alert';

export function Chat({ api, state, dispatch }: { api: Api; state: RoomState; dispatch: Dispatch<RoomAction> }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [waitUntil, setWaitUntil] = useState(0);
  const [now, setNow] = useState(() => Date.now());
  const [loadingOlder, setLoadingOlder] = useState(false);
  const list = useRef<HTMLOListElement>(null);
  const atBottom = useRef(true);
  const sessionId = state.session.id;
  const slowMode = state.session.chat_slow_mode;
  const exempt = isStaff(state.role);

  useEffect(() => {
    if (waitUntil <= now) return;
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, [waitUntil, now]);

  // Follow new messages unless the reader scrolled up.
  useEffect(() => {
    const el = list.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [state.messages.length]);

  const older = async () => {
    if (!state.olderCursor) return;
    setLoadingOlder(true);
    try {
      const page = await api.messages(sessionId, state.olderCursor);
      dispatch({ type: 'older', messages: page.items, olderCursor: page.next_cursor });
    } catch (e) {
      setError(describe(e));
    } finally {
      setLoadingOlder(false);
    }
  };

  const send = async (e: FormEvent) => {
    e.preventDefault();
    const message = text.trim();
    if (!message) return;
    setError(null);
    try {
      const sent = await api.sendMessage(sessionId, message);
      dispatch({ type: 'sent', message: sent });
      setText('');
      atBottom.current = true;
      if (slowMode > 0 && !exempt) {
        setWaitUntil(Date.now() + slowMode * 1000);
        setNow(Date.now());
      }
    } catch (err) {
      if (err instanceof ApiError && err.problem.code === 'chat-timeout') {
        setWaitUntil(Date.now() + (err.retryAfter ?? 1) * 1000);
        setNow(Date.now());
        setError(err.message);
      } else if (err instanceof ApiError && err.status === 429) {
        const seconds = err.retryAfter ?? 1;
        setWaitUntil(Date.now() + seconds * 1000);
        setNow(Date.now());
        setError(`${err.message}. You can send again in ${seconds} s.`);
      } else {
        setError(describe(err));
      }
    }
  };

  const waitSeconds = Math.max(0, Math.ceil((waitUntil - now) / 1000));
  const pinned = state.session.pinned_message;
  const pinShows = pinned && (!pinned.expires_at || Date.parse(pinned.expires_at) > now);
  const disabled = !state.session.enable_chat;
  return (
    <section className="chat card" aria-labelledby="chat-title">
      <h2 id="chat-title">Chat</h2>
      {slowMode > 0 && <p className="muted small">Slow mode: one message every {slowMode} s{exempt ? ' (not for hosts)' : ''}.</p>}
      {pinShows && (
        <div className="pinned" role="note" aria-label="Pinned message" data-testid="pinned-message">
          <span aria-hidden="true">📌</span> <strong>{pinned.message.username ?? 'System'}</strong> {pinned.message.message}
          {exempt && (
            <button type="button" className="link small" onClick={() => void api.unpin(sessionId).catch((e: unknown) => setError(describe(e)))}>
              Unpin
            </button>
          )}
        </div>
      )}
      <ol
        className="messages"
        ref={list}
        aria-live="polite"
        data-testid="messages"
        onScroll={(e) => {
          const el = e.currentTarget;
          atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        {state.olderCursor && (
          <li className="older">
            <button type="button" className="link" onClick={() => void older()} disabled={loadingOlder}>
              {loadingOlder ? 'Loading…' : 'Earlier messages'}
            </button>
          </li>
        )}
        {state.messages.map((m) =>
          m.message_type === 'system' ? (
            <li key={m.id} className="system" data-testid="system-message">
              {m.message}
            </li>
          ) : (
            <li key={m.id} className={m.user_id === state.me ? 'mine' : undefined} data-testid="chat-message">
              <strong>{m.username ?? m.user_id}</strong> {m.message}
              <MessageActions api={api} state={state} message={m} onError={setError} />
            </li>
          ),
        )}
      </ol>
      <Alert>{error}</Alert>
      {disabled ? (
        <p className="muted">The host turned chat off.</p>
      ) : (
        <form className="row" onSubmit={(e) => void send(e)}>
          <label htmlFor="chat-input" className="visually-hidden">
            Message
          </label>
          <input
            id="chat-input"
            value={text}
            onChange={(e) => setText(e.target.value)}
            placeholder="Say something…"
            maxLength={500}
            autoComplete="off"
          />
          <button type="submit" className="primary" disabled={waitSeconds > 0 || !text.trim()}>
            {waitSeconds > 0 ? `Wait ${waitSeconds} s` : 'Send'}
          </button>
        </form>
      )}
    </section>
  );
}

/** What the reader may do with a message: moderators pin, delete and time out; authors delete. */
function MessageActions({
  api,
  state,
  message,
  onError,
}: {
  api: Api;
  state: RoomState;
  message: ChatMessage;
  onError: (e: string) => void;
}) {
  const staff = isStaff(state.role);
  const mine = message.user_id === state.me;
  if (!staff && !mine) return null;
  const who = message.username ?? message.user_id ?? 'someone';
  const run = (what: Promise<unknown>) => void what.catch((e: unknown) => onError(describe(e)));
  const sessionId = state.session.id;
  const author = message.user_id;
  return (
    <span className="msg-actions">
      {staff && (
        <button type="button" className="link small" aria-label={`Pin message from ${who}`} onClick={() => run(api.pin(sessionId, message.id))}>
          Pin
        </button>
      )}
      <button type="button" className="link small" aria-label={`Delete message from ${who}`} onClick={() => run(api.deleteMessage(sessionId, message.id))}>
        Delete
      </button>
      {staff && !mine && author && author !== state.session.host_id && (
        <button type="button" className="link small" aria-label={`Time out ${who} for 5 minutes`} onClick={() => run(api.timeout(sessionId, author, 300))}>
          Time out
        </button>
      )}
    </span>
  );
}

// For viewers: ask to come on stage (with a message), withdraw the request, and answer the host's
// invitation.

import { useState, type Dispatch, type FormEvent } from 'react';
import type { Api } from '../lib/api';
import type { RoomAction, RoomState } from '../lib/roomState';
import { useAction } from '../lib/useAction';
import { Alert } from './Alert';

interface Props {
  api: Api;
  state: RoomState;
  dispatch: Dispatch<RoomAction>;
  canRequest: boolean;
}

export function StagePanel({ api, state, dispatch, canRequest }: Props) {
  const { busy, error, run } = useAction();
  const [message, setMessage] = useState('');
  const sessionId = state.session.id;
  const mine = Object.values(state.requests).filter((r) => r.user_id === state.me && r.status === 'pending');
  const request = mine.find((r) => r.origin === 'request');
  const invitation = mine.find((r) => r.origin === 'invitation');

  const ask = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      const created = await api.requestGuest(sessionId, message);
      dispatch({ type: 'request', request: created });
      setMessage('');
    });
  };

  return (
    <section className="card" aria-labelledby="stage-panel-title" data-testid="stage-panel">
      <h2 id="stage-panel-title">Join the stage</h2>
      {invitation ? (
        <div role="alert" data-testid="invitation">
          <p>
            You are invited on stage{invitation.request_type === 'cohost' ? ' as a cohost' : ''}
            {invitation.message ? `: “${invitation.message}”` : '.'}
          </p>
          <div className="row">
            <button
              type="button"
              className="primary"
              disabled={busy}
              onClick={() =>
                void run(async () => dispatch({ type: 'request', request: await api.respondInvite(sessionId, invitation.id, 'accepted') }))
              }
            >
              Accept invitation
            </button>
            <button
              type="button"
              disabled={busy}
              onClick={() =>
                void run(async () => dispatch({ type: 'request', request: await api.respondInvite(sessionId, invitation.id, 'declined') }))
              }
            >
              Decline
            </button>
          </div>
        </div>
      ) : request ? (
        <div data-testid="request-pending">
          <p role="status">Your request is waiting for the host.</p>
          <button
            type="button"
            disabled={busy}
            onClick={() => void run(async () => dispatch({ type: 'request', request: await api.cancelRequest(sessionId, request.id) }))}
          >
            Cancel request
          </button>
        </div>
      ) : !state.session.allow_guests || !canRequest ? (
        <p className="muted">The host is not taking guests right now.</p>
      ) : (
        <form onSubmit={ask}>
          <label htmlFor="request-message">Message to the host (optional)</label>
          <input id="request-message" value={message} onChange={(e) => setMessage(e.target.value)} maxLength={200} />
          <button type="submit" className="primary" disabled={busy}>
            Request to join
          </button>
        </form>
      )}
      <Alert>{error}</Alert>
    </section>
  );
}

// For the host and cohosts: pending requests to approve or reject, and everyone present with a
// menu of host controls (mute and unmute, screen share, promote and demote, invite, chat
// timeout, kick, ban).

import { useState, type Dispatch } from 'react';
import type { Api } from '../lib/api';
import { onStage, type RoomAction, type RoomState } from '../lib/roomState';
import type { Action, Participant } from '../lib/types';
import { useAction } from '../lib/useAction';
import { Alert } from './Alert';

interface Props {
  api: Api;
  state: RoomState;
  dispatch: Dispatch<RoomAction>;
}

export function HostPanel({ api, state, dispatch }: Props) {
  const { error, run } = useAction();
  const sessionId = state.session.id;
  const pending = Object.values(state.requests)
    .filter((r) => r.origin === 'request' && r.status === 'pending')
    .sort((a, b) => a.created_at.localeCompare(b.created_at));
  const people = Object.values(state.participants)
    .filter((p) => p.user_id !== state.me)
    .sort((a, b) => Number(onStage(b.role)) - Number(onStage(a.role)) || a.username.localeCompare(b.username));

  return (
    <section className="card host-panel" aria-labelledby="host-panel-title">
      <h2 id="host-panel-title">Guest requests</h2>
      {pending.length === 0 ? (
        <p className="muted">No pending requests.</p>
      ) : (
        <ul className="list" data-testid="pending-requests">
          {pending.map((r) => (
            <li key={r.id} data-testid="pending-request" data-user={r.user_id}>
              <span>
                <strong>{r.username}</strong> wants to join {r.request_type === 'cohost' ? 'as cohost' : 'the stage'}
                {r.message ? `: “${r.message}”` : ''}
              </span>
              <span className="row">
                <button
                  type="button"
                  className="primary"
                  aria-label={`Approve ${r.username}`}
                  onClick={() =>
                    void run(async () => dispatch({ type: 'request', request: await api.respondRequest(sessionId, r.id, 'approved') }))
                  }
                >
                  Approve
                </button>
                <button
                  type="button"
                  aria-label={`Reject ${r.username}`}
                  onClick={() =>
                    void run(async () => dispatch({ type: 'request', request: await api.respondRequest(sessionId, r.id, 'rejected') }))
                  }
                >
                  Reject
                </button>
              </span>
            </li>
          ))}
        </ul>
      )}
      <h2>People</h2>
      {people.length === 0 ? (
        <p className="muted">Nobody else is here yet.</p>
      ) : (
        <ul className="list" data-testid="people">
          {people.map((p) => (
            <PersonRow key={p.user_id} person={p} hostView={state.role === 'host'} run={run} api={api} dispatch={dispatch} />
          ))}
        </ul>
      )}
      <Alert>{error}</Alert>
    </section>
  );
}

interface RowProps {
  person: Participant;
  hostView: boolean;
  api: Api;
  dispatch: Dispatch<RoomAction>;
  run: (what: () => Promise<void>) => Promise<void>;
}

function PersonRow({ person, hostView, api, dispatch, run }: RowProps) {
  const [open, setOpen] = useState(false);
  const staged = onStage(person.role);
  const actions: { action: Action; label: string }[] = [];
  if (staged) {
    actions.push(
      person.audio_enabled ? { action: 'mute_audio', label: 'Mute audio' } : { action: 'unmute_audio', label: 'Unmute audio' },
      person.video_enabled ? { action: 'mute_video', label: 'Turn video off' } : { action: 'unmute_video', label: 'Allow video' },
      person.screen_share_allowed
        ? { action: 'disallow_screen_share', label: 'Disallow screen share' }
        : { action: 'allow_screen_share', label: 'Allow screen share' },
    );
    if (hostView && person.role === 'guest') actions.push({ action: 'promote_cohost', label: 'Make cohost' });
    if (person.role === 'guest' || (hostView && person.role === 'cohost')) actions.push({ action: 'demote', label: 'Move to audience' });
  }
  actions.push({ action: 'kick', label: 'Remove from live' }, { action: 'ban', label: 'Ban' });
  const timeOut = () => {
    setOpen(false);
    void run(() => api.timeout(person.session_id, person.user_id, 300));
  };

  const manage = (action: Action) => {
    if ((action === 'kick' || action === 'ban') && !window.confirm(`${action === 'ban' ? 'Ban' : 'Remove'} ${person.username}?`)) return;
    setOpen(false);
    void run(async () => dispatch({ type: 'participant', participant: await api.manage(person.session_id, person.user_id, action) }));
  };
  const menuId = `menu-${person.user_id}`;

  return (
    <li data-testid="person" data-user={person.user_id}>
      <span>
        <strong>{person.username}</strong> <span className="pill small">{person.role}</span>
        {staged && !person.audio_enabled && <span className="pill small warn">muted</span>}
      </span>
      <span className="row">
        {!staged && (
          <button
            type="button"
            aria-label={`Invite ${person.username} on stage`}
            onClick={() => void run(async () => dispatch({ type: 'request', request: await api.invite(person.session_id, person.user_id) }))}
          >
            Invite
          </button>
        )}
        <span className="menu">
          <button
            type="button"
            aria-haspopup="menu"
            aria-expanded={open}
            aria-controls={menuId}
            aria-label={`Controls for ${person.username}`}
            onClick={() => setOpen((o) => !o)}
          >
            ⋯
          </button>
          {open && (
            <ul className="menu-items" role="menu" id={menuId}>
              {actions.map((a) => (
                <li key={a.action} role="none">
                  <button type="button" role="menuitem" onClick={() => manage(a.action)}>
                    {a.label}
                  </button>
                </li>
              ))}
              {(hostView || person.role !== 'cohost') && (
                <li role="none">
                  <button type="button" role="menuitem" onClick={timeOut}>
                    Time out of chat (5 min)
                  </button>
                </li>
              )}
            </ul>
          )}
        </span>
      </span>
    </li>
  );
}

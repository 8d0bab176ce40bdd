// A live room: joins over HTTP, loads the room's state, follows its events over the WebSocket API
// and its media over LiveKit. Every failure ends up as words on the page.

import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { LiveKitRoom, RoomAudioRenderer } from '@livekit/components-react';
import { DisconnectReason, type RoomOptions } from 'livekit-client';
import { ApiError, describe, type Api } from '../lib/api';
import type { Identity } from '../lib/auth';
import type { AppConfig } from '../lib/config';
import { LiveSocket, type SocketStatus } from '../lib/realtime';
import { initialState, isStaff, onStage, roomReducer, type RoomState } from '../lib/roomState';
import type { JoinResponse, SessionView } from '../lib/types';
import { Chat } from './Chat';
import { HostPanel } from './HostPanel';
import { LivePanel } from './LivePanel';
import { Gifts } from './Gifts';
import { Reactions } from './Reactions';
import { Stage } from './Stage';
import { StagePanel } from './StagePanel';
import { Alert } from './Alert';

const ROOM_OPTIONS: RoomOptions = {
  adaptiveStream: true,
  dynacast: true,
  // A microphone the host mutes is stopped, not just silenced: the device light goes off.
  publishDefaults: { stopMicTrackOnMute: true },
};

interface Props {
  api: Api;
  config: AppConfig;
  identity: Identity;
  sessionId: string;
  onExit: () => void;
  onAnalytics: () => void;
}

export function Room({ api, config, identity, sessionId, onExit, onAnalytics }: Props) {
  const [join, setJoin] = useState<JoinResponse | null>(null);
  const [session, setSession] = useState<SessionView | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  /** A paid live's ticket price, when the join was refused for want of a ticket. */
  const [ticket, setTicket] = useState<number | null>(null);

  const enter = useCallback(async () => {
    setFailure(null);
    setTicket(null);
    try {
      const [joined, detail] = await Promise.all([api.join(sessionId), api.session(sessionId)]);
      setSession(detail);
      setJoin(joined);
    } catch (e) {
      if (e instanceof ApiError && e.problem.code === 'ticket-required') setTicket(e.problem.needed ?? 0);
      setFailure(refusal(e));
    }
  }, [api, sessionId]);

  const buyTicket = async () => {
    try {
      await api.buyTicket(sessionId);
      await enter();
    } catch (e) {
      setFailure(
        e instanceof ApiError && e.problem.code === 'insufficient-coins'
          ? `Not enough coins for the ticket: it costs ${e.problem.needed ?? 0}, your wallet holds ${e.problem.balance ?? 0}.`
          : describe(e),
      );
    }
  };

  useEffect(() => {
    void enter();
  }, [enter]);

  if (failure) {
    return (
      <main className="page center">
        <div className="card">
          <p className="alert" role="alert" data-testid="room-failure">
            {failure}
          </p>
          <div className="row">
            {ticket !== null && (
              <button type="button" onClick={() => void buyTicket()}>
                Buy a ticket ({ticket} coins)
              </button>
            )}
            <button type="button" onClick={() => void enter()}>
              Try again
            </button>
            <button type="button" onClick={onExit}>
              Back to the lobby
            </button>
          </div>
        </div>
      </main>
    );
  }
  if (!join || !session) {
    return (
      <main className="page center" aria-busy="true">
        <p>Joining the live…</p>
      </main>
    );
  }
  return (
    <JoinedRoom
      key={join.access_token}
      api={api}
      config={config}
      identity={identity}
      join={join}
      session={session}
      onRejoin={() => void enter()}
      onExit={onExit}
      onAnalytics={onAnalytics}
    />
  );
}

/** Words for a refused join (`docs/permissions.md`). */
function refusal(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 402) return `This live needs a ticket: ${e.message}`;
    if (e.status === 403) return `You cannot join this live: ${e.message}`;
    if (e.status === 404) return 'This live does not exist (any more).';
    if (e.status === 409) return `This live is not open: ${e.message}`;
  }
  return describe(e);
}

interface JoinedProps {
  api: Api;
  config: AppConfig;
  identity: Identity;
  join: JoinResponse;
  session: SessionView;
  onRejoin: () => void;
  onExit: () => void;
  onAnalytics: () => void;
}

function JoinedRoom({ api, config, identity, join, session, onRejoin, onExit, onAnalytics }: JoinedProps) {
  const [state, dispatch] = useReducer(roomReducer, undefined, () => initialState(session, identity.userId, join.role));
  const [status, setStatus] = useState<SocketStatus>('connecting');
  const [loadError, setLoadError] = useState<string | null>(null);
  const socket = useRef<LiveSocket | null>(null);
  const sessionId = join.session_id;
  const staff = isStaff(state.role);

  // Why the server stopped letting us in: a kick, a ban, or the end of the session.
  const checkStanding = useCallback(async () => {
    try {
      const detail = await api.session(sessionId);
      if (detail.status === 'ended') {
        dispatch({ type: 'ended' });
        return;
      }
      await api.join(sessionId);
    } catch (e) {
      if (e instanceof ApiError && e.status === 403) dispatch({ type: 'removed', how: /ban/i.test(e.message) ? 'banned' : 'kicked' });
      else if (e instanceof ApiError && e.status === 409) dispatch({ type: 'ended' });
    }
  }, [api, sessionId]);

  const load = useCallback(async () => {
    try {
      const [detail, participants, requests, page] = await Promise.all([
        api.session(sessionId),
        api.participants(sessionId),
        staff ? api.guestRequests(sessionId, 'pending') : Promise.resolve([]),
        api.messages(sessionId),
      ]);
      dispatch({ type: 'loaded', session: detail, participants, requests, messages: page.items, olderCursor: page.next_cursor });
      setLoadError(null);
    } catch (e) {
      setLoadError(describe(e));
    }
  }, [api, sessionId, staff]);

  useEffect(() => {
    const live = new LiveSocket(config.ws_url, api, sessionId, {
      onEvents: (events) => dispatch({ type: 'events', events }),
      onStatus: setStatus,
      onRefused: () => void checkStanding(),
    });
    socket.current = live;
    live.start();
    void load();
    return () => live.stop();
    // The socket lives as long as this joined room; `load` changes with the role, not the socket.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, config.ws_url, sessionId, checkStanding]);

  // A role change (approved, promoted, demoted) changes what this user may see: reload.
  const role = state.role;
  const firstRole = useRef(role);
  useEffect(() => {
    if (role !== firstRole.current) {
      firstRole.current = role;
      void load();
    }
  }, [role, load]);

  useEffect(() => {
    if (state.ended || state.removed) socket.current?.stop();
  }, [state.ended, state.removed]);

  const leave = async () => {
    try {
      if (state.role !== 'host') await api.leave(sessionId);
    } catch {
      // Leaving a session that ended or removed us needs nothing more.
    }
    onExit();
  };

  if (state.removed) {
    return (
      <Closed testId="removed" onExit={onExit}>
        {state.removed === 'banned'
          ? 'You were banned from this live by the host. You cannot rejoin it.'
          : 'You were removed from this live by the host. You cannot rejoin it.'}
      </Closed>
    );
  }
  if (state.ended) {
    return (
      <Closed testId="ended" onExit={onExit} onAnalytics={state.role === 'host' ? onAnalytics : undefined}>
        This live has ended. Thanks for watching!
      </Closed>
    );
  }

  const publishVideo = state.session.session_type !== 'voice';
  return (
    <LiveKitRoom
      serverUrl={join.webrtc_config.server_url}
      token={join.access_token}
      connect
      audio={state.role === 'host'}
      video={state.role === 'host' && publishVideo}
      options={ROOM_OPTIONS}
      onDisconnected={(reason) => {
        if (reason === DisconnectReason.PARTICIPANT_REMOVED) dispatch({ type: 'removed', how: 'kicked' });
        if (reason === DisconnectReason.ROOM_DELETED) void checkStanding();
      }}
      onError={(e) => setLoadError(`Media: ${e.message}`)}
      className="room"
      data-testid="room"
      data-role={state.role}
    >
      <RoomAudioRenderer />
      <RoomHeader state={state} status={status} onLeave={() => void leave()} api={api} />
      {loadError && (
        <p className="alert" role="alert">
          {loadError}{' '}
          <button type="button" className="link" onClick={() => void load()}>
            Retry
          </button>
        </p>
      )}
      {state.notice && (
        <p className="alert" role="alert">
          {state.notice}{' '}
          <button type="button" className="link" onClick={() => dispatch({ type: 'dismiss' })}>
            Dismiss
          </button>
        </p>
      )}
      <div className="room-body">
        <section className="stage-area" aria-label="Stage">
          <Stage state={state} api={api} dispatch={dispatch} onLeftStage={onRejoin} />
          <Reactions api={api} state={state} dispatch={dispatch} />
          <Gifts api={api} state={state} dispatch={dispatch} />
        </section>
        <aside className="side">
          {state.role === 'host' && <LivePanel api={api} state={state} dispatch={dispatch} onAnalytics={onAnalytics} />}
          {staff && <HostPanel api={api} state={state} dispatch={dispatch} />}
          {!onStage(state.role) && <StagePanel api={api} state={state} dispatch={dispatch} canRequest={join.can_request_guest} />}
          <Chat api={api} state={state} dispatch={dispatch} />
        </aside>
      </div>
    </LiveKitRoom>
  );
}

function RoomHeader({ state, status, onLeave, api }: { state: RoomState; status: SocketStatus; onLeave: () => void; api: Api }) {
  const [ending, setEnding] = useState<string | null>(null);
  const end = async () => {
    if (!window.confirm('End this live for everyone?')) return;
    try {
      await api.end(state.session.id);
    } catch (e) {
      setEnding(describe(e));
    }
  };
  return (
    <header className="room-header">
      <div>
        <h1 className="room-title">{state.session.title}</h1>
        <p className="muted">
          Hosted by {state.session.host_username} · you are <span data-testid="my-role">{state.role}</span>
        </p>
      </div>
      <div className="row">
        {state.session.status === 'backstage' ? (
          <span className="pill warn" aria-label="status" data-testid="status">
            BACKSTAGE
          </span>
        ) : (
          <span className="pill live" aria-label="status" data-testid="status">
            ● LIVE
          </span>
        )}
        {(state.session.recording?.status === 'active' || state.session.recording?.status === 'starting') && (
          <span className="pill live" role="status" data-testid="recording">
            ● REC
          </span>
        )}
        <span className="pill" data-testid="viewer-count" aria-label="viewers">
          👁 {state.session.viewer_count}
        </span>
        <span className="pill" aria-label="guests on stage">
          🎤 {state.session.guest_count}/{state.session.max_guests}
        </span>
        {status !== 'open' && (
          <span className="pill warn" role="status">
            {status === 'reconnecting' ? 'Reconnecting…' : 'Connecting…'}
          </span>
        )}
        {state.role === 'host' ? (
          <button type="button" className="danger" onClick={() => void end()}>
            End live
          </button>
        ) : (
          <button type="button" onClick={onLeave}>
            Leave
          </button>
        )}
      </div>
      <Alert>{ending}</Alert>
    </header>
  );
}

function Closed({
  children,
  testId,
  onExit,
  onAnalytics,
}: {
  children: string;
  testId: string;
  onExit: () => void;
  onAnalytics?: () => void;
}) {
  return (
    <main className="page center">
      <div className="card">
        <p role="alert" data-testid={testId} className="closed">
          {children}
        </p>
        <div className="row">
          {onAnalytics && (
            <button type="button" onClick={onAnalytics}>
              See the analytics
            </button>
          )}
          <button type="button" className="primary" onClick={onExit}>
            Back to the lobby
          </button>
        </div>
      </div>
    </main>
  );
}

// The stage: a responsive grid of the host and guests (1 to 21 tiles, LiveKit's tiles with their
// active-speaker highlight) and, for those on stage, their own microphone and camera controls,
// which follow the host's controls.

import { useEffect, useState, type Dispatch } from 'react';
import { ParticipantTile, useLocalParticipant, useTracks } from '@livekit/components-react';
import { ParticipantEvent, Track, type LocalParticipant } from 'livekit-client';
import { describe, type Api } from '../lib/api';
import { onStage, type RoomAction, type RoomState } from '../lib/roomState';
import { Alert } from './Alert';

interface Props {
  state: RoomState;
  api: Api;
  dispatch: Dispatch<RoomAction>;
  /** Called after a guest stepped down (rejoins as a viewer with a fresh token). */
  onLeftStage: () => void;
}

export function Stage({ state, api, dispatch, onLeftStage }: Props) {
  const tracks = useTracks(
    [
      { source: Track.Source.Camera, withPlaceholder: true },
      { source: Track.Source.ScreenShare, withPlaceholder: false },
    ],
    { onlySubscribed: false },
  );
  // Viewers are in the SFU's room too (subscribe-only): the stage shows those on stage.
  const staged = new Set(
    Object.values(state.participants)
      .filter((p) => onStage(p.role))
      .map((p) => p.user_id),
  );
  staged.add(state.session.host_id);
  if (onStage(state.role)) staged.add(state.me);
  const shown = tracks.filter((t) => staged.has(t.participant.identity));
  const columns = Math.ceil(Math.sqrt(Math.max(shown.length, 1)));

  return (
    <div className="stage">
      {shown.length === 0 ? (
        <p className="muted stage-empty">Waiting for the host's camera…</p>
      ) : (
        <ul className="grid" style={{ ['--columns' as string]: String(columns) }} aria-label="Participants on stage">
          {shown.map((t) => (
            <li
              key={`${t.participant.identity}:${t.source}`}
              className="tile"
              data-testid="tile"
              data-identity={t.participant.identity}
              data-source={t.source}
            >
              <ParticipantTile trackRef={t} />
              <span className="tile-role">{roleOf(state, t.participant.identity)}</span>
            </li>
          ))}
        </ul>
      )}
      {onStage(state.role) && <OwnControls state={state} api={api} dispatch={dispatch} onLeftStage={onLeftStage} />}
    </div>
  );
}

function roleOf(state: RoomState, identity: string): string {
  if (identity === state.session.host_id) return 'host';
  return state.participants[identity]?.role ?? '';
}

/** The microphone's state for the page and its tests: `live`, `muted`, `stopped` or `none`. */
function trackState(track: MediaStreamTrack | undefined, muted: boolean): string {
  if (!track) return 'none';
  if (track.readyState === 'ended') return 'stopped';
  return muted ? 'muted' : 'live';
}

/** Whether the SFU lets this client publish now (it changes as the host approves or mutes). */
function useCanPublish(participant: LocalParticipant): boolean {
  const [can, setCan] = useState(participant.permissions?.canPublish ?? false);
  useEffect(() => {
    const update = () => setCan(participant.permissions?.canPublish ?? false);
    update();
    participant.on(ParticipantEvent.ParticipantPermissionsChanged, update);
    return () => {
      participant.off(ParticipantEvent.ParticipantPermissionsChanged, update);
    };
  }, [participant]);
  return can;
}

function OwnControls({ state, api, dispatch, onLeftStage }: Props) {
  const { localParticipant, isMicrophoneEnabled, isCameraEnabled, isScreenShareEnabled, microphoneTrack, cameraTrack } =
    useLocalParticipant();
  const [error, setError] = useState<string | null>(null);
  const me = state.participants[state.me];
  // What the host allows (the host's own flags are always on).
  const audioAllowed = state.role === 'host' || (me?.audio_enabled ?? true);
  const videoAllowed = state.role === 'host' || (me?.video_enabled ?? true);
  const visual = state.session.session_type !== 'voice';
  const screenAllowed = visual && (state.role === 'host' || (me?.screen_share_allowed ?? false));
  const canPublish = useCanPublish(localParticipant);

  // Coming on stage: publish what the host allows, once the SFU allows it.
  const [started, setStarted] = useState(state.role === 'host');
  useEffect(() => {
    if (started || !canPublish || !me) return;
    setStarted(true);
    void (async () => {
      try {
        if (me.audio_enabled) await localParticipant.setMicrophoneEnabled(true);
        if (me.video_enabled && visual) await localParticipant.setCameraEnabled(true);
      } catch (e) {
        setError(`Your camera or microphone could not start: ${describe(e)}`);
      }
    })();
  }, [started, canPublish, me, localParticipant, visual]);

  // The host's mute holds here too: the track stops (the SFU also refuses to carry it).
  useEffect(() => {
    if (!audioAllowed && isMicrophoneEnabled) void localParticipant.setMicrophoneEnabled(false);
  }, [audioAllowed, isMicrophoneEnabled, localParticipant]);
  useEffect(() => {
    if (!videoAllowed && isCameraEnabled) void localParticipant.setCameraEnabled(false);
  }, [videoAllowed, isCameraEnabled, localParticipant]);
  useEffect(() => {
    if (!screenAllowed && isScreenShareEnabled) void localParticipant.setScreenShareEnabled(false);
  }, [screenAllowed, isScreenShareEnabled, localParticipant]);

  const toggle = async (kind: 'audio' | 'video' | 'screen') => {
    setError(null);
    try {
      if (kind === 'audio') await localParticipant.setMicrophoneEnabled(!isMicrophoneEnabled);
      else if (kind === 'video') await localParticipant.setCameraEnabled(!isCameraEnabled);
      else await localParticipant.setScreenShareEnabled(!isScreenShareEnabled);
      dispatch({ type: 'dismiss' });
    } catch (e) {
      setError(describe(e));
    }
  };

  const stepDown = async () => {
    try {
      await localParticipant.setMicrophoneEnabled(false);
      await localParticipant.setCameraEnabled(false);
      await api.leave(state.session.id);
      onLeftStage();
    } catch (e) {
      setError(describe(e));
    }
  };

  const mic = trackState(microphoneTrack?.track?.mediaStreamTrack, microphoneTrack?.isMuted ?? false);
  return (
    <div className="controls" role="toolbar" aria-label="Your microphone and camera" data-testid="own-controls" data-mic={mic}>
      {state.unmuteAsked && (
        <p className="banner" role="status" data-testid="unmute-asked">
          The host asks you to unmute your {state.unmuteAsked === 'audio' ? 'microphone' : 'camera'}.
        </p>
      )}
      <button
        type="button"
        onClick={() => void toggle('audio')}
        disabled={!audioAllowed}
        aria-pressed={isMicrophoneEnabled}
        aria-label={isMicrophoneEnabled ? 'Turn microphone off' : 'Turn microphone on'}
      >
        {isMicrophoneEnabled ? '🎙 Mic on' : '🔇 Mic off'}
      </button>
      {!audioAllowed && (
        <span className="pill warn" data-testid="audio-muted-by-host">
          Microphone muted by the host
        </span>
      )}
      {visual && (
        <button
          type="button"
          onClick={() => void toggle('video')}
          disabled={!videoAllowed}
          aria-pressed={isCameraEnabled}
          aria-label={isCameraEnabled ? 'Turn camera off' : 'Turn camera on'}
        >
          {isCameraEnabled ? '📷 Camera on' : '🚫 Camera off'}
        </button>
      )}
      {visual && !videoAllowed && (
        <span className="pill warn" data-testid="video-muted-by-host">
          Camera turned off by the host
        </span>
      )}
      {screenAllowed && (
        <button
          type="button"
          onClick={() => void toggle('screen')}
          aria-pressed={isScreenShareEnabled}
          aria-label={isScreenShareEnabled ? 'Stop sharing your screen' : 'Share your screen'}
        >
          {isScreenShareEnabled ? '🛑 Stop sharing' : '🖥 Share screen'}
        </button>
      )}
      {cameraTrack === undefined && isCameraEnabled && <span className="muted">Starting camera…</span>}
      {state.role !== 'host' && (
        <button type="button" onClick={() => void stepDown()}>
          Leave the stage
        </button>
      )}
      <Alert>{error}</Alert>
    </div>
  );
}

// Reactions: five buttons, and every reaction of the room (the coalesced totals' increases)
// floating up the stage.

import { useState, type Dispatch } from 'react';
import { ApiError, describe, type Api } from '../lib/api';
import type { RoomAction, RoomState } from '../lib/roomState';
import { REACTIONS } from '../lib/types';

export function Reactions({ api, state, dispatch }: { api: Api; state: RoomState; dispatch: Dispatch<RoomAction> }) {
  const [error, setError] = useState<string | null>(null);
  const react = async (type: (typeof REACTIONS)[number]['type']) => {
    setError(null);
    try {
      await api.react(state.session.id, type);
    } catch (e) {
      setError(e instanceof ApiError && e.status === 429 ? 'Easy there: too many reactions at once.' : describe(e));
    }
  };
  return (
    <>
      <div className="floaters" aria-hidden="true">
        {state.floaters.map((f, i) => (
          <span
            key={f.key}
            className="floater"
            data-testid="floating-reaction"
            data-reaction={f.reaction}
            style={{ left: `${10 + ((f.key * 37 + i * 13) % 80)}%` }}
            onAnimationEnd={() => dispatch({ type: 'floated', key: f.key })}
          >
            {REACTIONS.find((r) => r.type === f.reaction)?.emoji}
          </span>
        ))}
      </div>
      <div className="reactions" role="group" aria-label="Reactions">
        {REACTIONS.map((r) => (
          <button key={r.type} type="button" onClick={() => void react(r.type)} aria-label={`React: ${r.label}`} title={r.label}>
            {r.emoji} <span className="count">{state.reactions[r.type] ?? 0}</span>
          </button>
        ))}
        {error && (
          <span className="alert small" role="alert">
            {error}
          </span>
        )}
      </div>
    </>
  );
}

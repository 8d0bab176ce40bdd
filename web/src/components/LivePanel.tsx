// For the host: going live from backstage, recording, the settings they can change while live
// (each change pushed to everyone and enforced at once), and the way to the analytics.

import { useState, type Dispatch, type FormEvent } from 'react';
import type { Api } from '../lib/api';
import type { RoomAction, RoomState } from '../lib/roomState';
import type { SettingsPatch } from '../lib/types';
import { useAction } from '../lib/useAction';
import { Alert } from './Alert';

interface Props {
  api: Api;
  state: RoomState;
  dispatch: Dispatch<RoomAction>;
  onAnalytics: () => void;
}

export function LivePanel({ api, state, dispatch, onAnalytics }: Props) {
  const { busy, error, run } = useAction();
  const s = state.session;
  const recording = s.recording?.status === 'active' || s.recording?.status === 'starting';

  const change = (patch: SettingsPatch) =>
    void run(async () => dispatch({ type: 'session', session: await api.updateSettings(s.id, patch) }));

  return (
    <section className="card live-panel" aria-labelledby="live-panel-title">
      <h2 id="live-panel-title">Your live</h2>
      {s.status === 'backstage' && (
        <div className="backstage" data-testid="backstage">
          <p className="muted">
            Backstage: only you and the guests you invite are here. Viewers can join once you go live.
          </p>
          <button
            type="button"
            className="primary"
            disabled={busy}
            onClick={() => void run(async () => dispatch({ type: 'session', session: await api.goLive(s.id) }))}
          >
            Go live
          </button>
        </div>
      )}
      <div className="row">
        <button
          type="button"
          disabled={busy}
          aria-pressed={recording}
          onClick={() =>
            void run(async () => {
              const r = await api.record(s.id, recording ? 'stop' : 'start');
              dispatch({ type: 'session', session: { ...s, recording: r } });
            })
          }
        >
          {recording ? 'Stop recording' : 'Record'}
        </button>
        <button type="button" onClick={onAnalytics}>
          Analytics
        </button>
      </div>
      <SettingsForm key={`${s.title}|${s.chat_slow_mode}|${s.max_guests}`} state={state} busy={busy} onChange={change} />
      <Alert>{error}</Alert>
    </section>
  );
}

function SettingsForm({ state, busy, onChange }: { state: RoomState; busy: boolean; onChange: (p: SettingsPatch) => void }) {
  const s = state.session;
  const [title, setTitle] = useState(s.title);
  const [maxGuests, setMaxGuests] = useState(s.max_guests);
  const [words, setWords] = useState((s.blocked_words ?? []).join(', '));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const patch: SettingsPatch = {};
    if (title.trim() && title.trim() !== s.title) patch.title = title.trim();
    if (maxGuests !== s.max_guests) patch.max_guests = maxGuests;
    const list = words
      .split(',')
      .map((w) => w.trim())
      .filter(Boolean);
    if (list.join(',') !== (s.blocked_words ?? []).join(',')) patch.blocked_words = list;
    if (Object.keys(patch).length > 0) onChange(patch);
  };
  const toggle = (name: 'enable_chat' | 'enable_gifts' | 'allow_guests' | 'require_approval', label: string) => (
    <label className="check">
      <input type="checkbox" checked={s[name]} disabled={busy} onChange={(e) => onChange({ [name]: e.target.checked })} /> {label}
    </label>
  );
  return (
    <form className="settings" aria-label="Live settings" onSubmit={submit}>
      <h3>Settings</h3>
      <label>
        Slow mode{' '}
        <select
          value={s.chat_slow_mode}
          disabled={busy}
          aria-label="Slow mode"
          onChange={(e) => onChange({ chat_slow_mode: Number(e.target.value) })}
        >
          {[0, 3, 10, 30, 60].map((n) => (
            <option key={n} value={n}>
              {n === 0 ? 'off' : `${n} s`}
            </option>
          ))}
        </select>
      </label>
      {toggle('enable_chat', 'Chat')}
      {toggle('enable_gifts', 'Gifts and tips')}
      {toggle('allow_guests', 'Requests to join the stage')}
      {toggle('require_approval', 'Approve each guest')}
      <label>
        Title <input value={title} maxLength={255} onChange={(e) => setTitle(e.target.value)} />
      </label>
      <label>
        Max guests{' '}
        <input type="number" min={1} max={20} value={maxGuests} onChange={(e) => setMaxGuests(Number(e.target.value))} />
      </label>
      <label>
        Blocked words <input value={words} placeholder="comma, separated" onChange={(e) => setWords(e.target.value)} />
      </label>
      <button type="submit" disabled={busy}>
        Save settings
      </button>
    </form>
  );
}

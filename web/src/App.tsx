// The app's places: sign-in, the lobby, a room (`?session=<id>` in the address, so a room can be
// shared and reloaded) and a session's analytics for its host (`?analytics=<id>`).

import { useCallback, useEffect, useMemo, useState } from 'react';
import { Api, describe } from './lib/api';
import { forget, remember, storedIdentity, identityFromToken, type Identity } from './lib/auth';
import { loadConfig, type AppConfig } from './lib/config';
import { SignIn } from './components/SignIn';
import { Lobby } from './components/Lobby';
import { Room } from './components/Room';
import { AnalyticsPage } from './components/AnalyticsPage';

function sessionInAddress(): string | null {
  return new URLSearchParams(window.location.search).get('session');
}

function analyticsInAddress(): string | null {
  return new URLSearchParams(window.location.search).get('analytics');
}

export function App() {
  const [config, setConfig] = useState<AppConfig | null>(null);
  const [fatal, setFatal] = useState<string | null>(null);
  const [identity, setIdentity] = useState<Identity | null>(() => storedIdentity());
  const [sessionId, setSessionId] = useState<string | null>(() => sessionInAddress());
  const [analyticsId, setAnalyticsId] = useState<string | null>(() => analyticsInAddress());

  useEffect(() => {
    loadConfig().then(setConfig, (e: unknown) => setFatal(describe(e)));
  }, []);

  // An embedding app may hand the token over after load.
  useEffect(() => {
    const onMessage = (e: MessageEvent<unknown>) => {
      const data = e.data as { type?: string; token?: string } | null;
      if (data?.type === 'trendke:token' && typeof data.token === 'string') {
        try {
          const id = identityFromToken(data.token);
          remember(id);
          setIdentity(id);
        } catch (err) {
          setFatal(describe(err));
        }
      }
    };
    window.addEventListener('message', onMessage);
    return () => window.removeEventListener('message', onMessage);
  }, []);

  useEffect(() => {
    const onPop = () => {
      setSessionId(sessionInAddress());
      setAnalyticsId(analyticsInAddress());
    };
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  const api = useMemo(() => (config && identity ? new Api(config.api_url, identity.token) : null), [config, identity]);

  const enter = useCallback((id: string) => {
    setSessionId(id);
    setAnalyticsId(null);
    history.pushState(null, '', `/?session=${id}`);
  }, []);

  const toLobby = useCallback(() => {
    setSessionId(null);
    setAnalyticsId(null);
    history.pushState(null, '', '/');
  }, []);

  const toAnalytics = useCallback((id: string) => {
    setSessionId(null);
    setAnalyticsId(id);
    history.pushState(null, '', `/?analytics=${id}`);
  }, []);

  const signOut = useCallback(() => {
    forget();
    setIdentity(null);
    toLobby();
  }, [toLobby]);

  if (fatal) {
    return (
      <main className="page center">
        <div className="alert" role="alert">
          {fatal}
        </div>
      </main>
    );
  }
  if (!config) {
    return (
      <main className="page center" aria-busy="true">
        <p>Loading…</p>
      </main>
    );
  }
  if (!identity || !api) {
    return (
      <SignIn
        config={config}
        onSignedIn={(id) => {
          remember(id);
          setIdentity(id);
        }}
      />
    );
  }
  return (
    <div className="app">
      <header className="topbar">
        <button type="button" className="brand" onClick={toLobby}>
          TrendKe Live
        </button>
        <span className="who">
          Signed in as <strong data-testid="signed-in-as">{identity.username}</strong>
        </span>
        <button type="button" className="link" onClick={signOut}>
          Sign out
        </button>
      </header>
      {analyticsId ? (
        <AnalyticsPage api={api} sessionId={analyticsId} onBack={toLobby} />
      ) : sessionId ? (
        <Room
          key={sessionId}
          api={api}
          config={config}
          identity={identity}
          sessionId={sessionId}
          onExit={toLobby}
          onAnalytics={() => toAnalytics(sessionId)}
        />
      ) : (
        <Lobby api={api} onEnter={enter} />
      )}
    </div>
  );
}

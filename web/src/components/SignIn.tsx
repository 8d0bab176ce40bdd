import { useState, type FormEvent } from 'react';
import { describe } from '../lib/api';
import { devSignIn, identityFromToken, type Identity } from '../lib/auth';
import type { AppConfig } from '../lib/config';
import { Alert } from './Alert';

export function SignIn({ config, onSignedIn }: { config: AppConfig; onSignedIn: (id: Identity) => void }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const dev = config.sign_in === 'dev';

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      onSignedIn(dev ? await devSignIn(config.api_url, value.trim()) : identityFromToken(value.trim()));
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="page center">
      <form className="card signin" onSubmit={(e) => void submit(e)} aria-labelledby="signin-title">
        <h1 id="signin-title">TrendKe Live</h1>
        <p className="muted">
          {dev
            ? 'Local development: pick a name to sign in as (a dev token from the local gateway).'
            : 'Paste the token your app signed you in with.'}
        </p>
        <label htmlFor="signin-value">{dev ? 'Your name' : 'Token (JWT)'}</label>
        <input
          id="signin-value"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          autoComplete={dev ? 'nickname' : 'off'}
          maxLength={dev ? 40 : undefined}
          required
          autoFocus
        />
        <Alert>{error}</Alert>
        <button type="submit" className="primary" disabled={busy || !value.trim()}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

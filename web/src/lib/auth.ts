// Who is signed in. Locally a name becomes a dev token (`POST /dev/token`, the local gateway only);
// deployed, the embedding app hands its user's JWT over: in the URL fragment (`#token=…`), or by
// `postMessage({type: "trendke:token", token})` to an embedded page.

import { ApiError } from './api';
import type { Problem } from './types';

export interface Identity {
  token: string;
  userId: string;
  username: string;
}

const STORAGE_KEY = 'trendke.identity';

/** The identity a JWT carries (`sub`, `username`): read for display; the server verifies it. */
export function identityFromToken(token: string): Identity {
  const part = token.split('.')[1];
  if (!part) throw new Error('That is not a JWT (three dot-separated parts).');
  const binary = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
  const json = new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  const claims = JSON.parse(json) as { sub?: string; username?: string; exp?: number };
  if (!claims.sub) throw new Error('The token has no subject (sub).');
  if (claims.exp && claims.exp * 1000 < Date.now()) throw new Error('The token has expired: sign in again.');
  return { token, userId: claims.sub, username: claims.username ?? claims.sub };
}

export async function devSignIn(apiBase: string, name: string): Promise<Identity> {
  const resp = await fetch(`${apiBase}/dev/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  const body = (await resp.json()) as { token?: string } & Partial<Problem>;
  if (!resp.ok || !body.token) {
    throw new ApiError({
      type: body.type ?? 'about:blank',
      title: body.title ?? 'Sign-in failed',
      status: resp.status,
      detail: body.detail ?? 'The sign-in was refused.',
    });
  }
  return identityFromToken(body.token);
}

/** A token from the URL fragment (then removed from the address bar), else the one kept this tab. */
export function storedIdentity(): Identity | null {
  const hash = new URLSearchParams(window.location.hash.slice(1));
  const fromHash = hash.get('token');
  if (fromHash) {
    history.replaceState(null, '', window.location.pathname + window.location.search);
    try {
      const id = identityFromToken(fromHash);
      remember(id);
      return id;
    } catch {
      return null;
    }
  }
  const kept = sessionStorage.getItem(STORAGE_KEY);
  if (!kept) return null;
  try {
    return identityFromToken(kept);
  } catch {
    sessionStorage.removeItem(STORAGE_KEY);
    return null;
  }
}

export function remember(identity: Identity): void {
  sessionStorage.setItem(STORAGE_KEY, identity.token);
}

export function forget(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

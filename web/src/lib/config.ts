// The app's runtime configuration, `/config.json` beside the page: the local gateway writes it
// (`make dev`); a deployment uploads one naming its APIs (README, "The web client").

export interface AppConfig {
  /** The HTTP API's base URL; empty: this origin. */
  api_url: string;
  /** The WebSocket API's URL (`wss://…/live` in AWS). */
  ws_url: string;
  /** `dev`: pick a name, the local gateway mints a token; `token`: the embedding app provides one. */
  sign_in: 'dev' | 'token';
}

export async function loadConfig(): Promise<AppConfig> {
  const resp = await fetch('/config.json', { cache: 'no-store' });
  if (!resp.ok) throw new Error(`The app's configuration (/config.json) could not be loaded: ${resp.status}.`);
  const config = (await resp.json()) as Partial<AppConfig>;
  if (typeof config.ws_url !== 'string') throw new Error('The configuration (/config.json) names no ws_url.');
  return { api_url: config.api_url ?? '', ws_url: config.ws_url, sign_in: config.sign_in === 'dev' ? 'dev' : 'token' };
}

// The multi-guest flow in real browsers: Debian's Chromium driven by playwright-core, with fake
// camera and microphone, against the stack `make dev` runs (BASE_URL; tests/web_e2e.sh starts it
// on free ports with a real livekit-server). Each step waits for what a person would see.
// Screenshots of the host's and the guest's room go to ARTIFACTS (default web/test-results).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const BASE = process.env.BASE_URL ?? 'http://127.0.0.1:3000';
const ARTIFACTS = process.env.ARTIFACTS ?? join(process.cwd(), 'test-results');
const WAIT = { timeout: 30_000 };
// Names unique to this run: the dev stack may hold other runs' sessions.
const run = Date.now().toString(36);
const HOST = `hana-${run}`;
const GUEST = `vera-${run}`;
const VIEWER = `theo-${run}`;
const TITLE = `Morning show ${run}`;

let browser: Browser;
const contexts: BrowserContext[] = [];

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
});

async function signedIn(name: string, width = 1280): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  page.on('dialog', (d) => void d.accept());
  page.on('pageerror', (e) => console.error(`[${name}] page error: ${e.message}`));
  await page.goto(BASE);
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('signed-in-as').filter({ hasText: name }).waitFor(WAIT);
  return page;
}

async function joinFromLobby(page: Page): Promise<void> {
  await page.getByRole('button', { name: `Join ${TITLE}` }).click(WAIT);
  await page.locator('[data-testid="room"][data-role="viewer"]').waitFor(WAIT);
}

/** The participant's camera tile on `page` shows a playing video: a size, and frames advancing. */
async function videoPlays(page: Page, identity: string): Promise<void> {
  const video = page.locator(`[data-testid="tile"][data-identity="${identity}"][data-source="camera"] video`);
  await video.waitFor(WAIT);
  await page.waitForFunction(
    (el) => el instanceof HTMLVideoElement && el.videoWidth > 0 && el.getVideoPlaybackQuality().totalVideoFrames > 0,
    await video.elementHandle(),
    WAIT,
  );
  const frames = await video.evaluate((el) => (el as HTMLVideoElement).getVideoPlaybackQuality().totalVideoFrames);
  await page.waitForFunction(
    ([el, n]) => (el as HTMLVideoElement).getVideoPlaybackQuality().totalVideoFrames > (n as number),
    [await video.elementHandle(), frames] as const,
    WAIT,
  );
}

/** Coins for `user`, credited as the embedding app's backend would (a server token the script signs). */
async function credit(user: string, coins: number): Promise<void> {
  const token = process.env.SERVICE_TOKEN;
  assert.ok(token, 'SERVICE_TOKEN: tests/web_e2e.sh signs a server token');
  const resp = await fetch(`${BASE}/live/wallet/credit`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
      'Idempotency-Key': `e2e-${user}`,
    },
    body: JSON.stringify({ user_id: user, coins, reference: `e2e-${user}` }),
  });
  assert.equal(resp.status, 200, await resp.text());
}

async function hostControl(page: Page, who: string, label: string): Promise<void> {
  await page.getByRole('button', { name: `Controls for ${who}` }).click();
  await page.getByRole('menuitem', { name: label }).click();
}

test('a host, a guest and a viewer run a live from three browser contexts', async () => {
  // 1. The host starts a camera session; a viewer joins from the lobby and asks to go on stage.
  const host = await signedIn(HOST);
  await host.getByLabel('Title').fill(TITLE);
  await host.getByLabel('Type').selectOption('camera');
  await host.getByRole('button', { name: 'Go live' }).click();
  await host.locator('[data-testid="room"][data-role="host"]').waitFor(WAIT);
  await videoPlays(host, HOST);

  const guest = await signedIn(GUEST, 375);
  await joinFromLobby(guest);
  const viewer = await signedIn(VIEWER);
  await joinFromLobby(viewer);
  await guest.getByLabel('Message to the host (optional)').fill('Can I say hi?');
  await guest.getByRole('button', { name: 'Request to join' }).click();
  await guest.getByTestId('request-pending').waitFor(WAIT);

  // 2. The host approves: the guest's camera plays in the host's grid (and the viewer's).
  const request = host.locator(`[data-testid="pending-request"][data-user="${GUEST}"]`);
  await request.filter({ hasText: 'Can I say hi?' }).waitFor(WAIT);
  await host.getByRole('button', { name: `Approve ${GUEST}` }).click();
  await guest.getByTestId('my-role').filter({ hasText: 'guest' }).waitFor(WAIT);
  await videoPlays(host, GUEST);
  await videoPlays(viewer, GUEST);
  await guest.locator('[data-testid="own-controls"][data-mic="live"]').waitFor(WAIT);

  // 3. The host mutes the guest's audio: her page says so and her microphone track stops.
  await hostControl(host, GUEST, 'Mute audio');
  await guest.getByTestId('audio-muted-by-host').waitFor(WAIT);
  await guest.locator('[data-testid="own-controls"]:is([data-mic="stopped"], [data-mic="none"])').waitFor(WAIT);
  assert.equal(await guest.getByRole('button', { name: 'Turn microphone on' }).isDisabled(), true);

  // 4. Chat both ways; a reaction floats on the other pages.
  await host.getByLabel('Message').fill('Welcome on stage!');
  await host.getByRole('button', { name: 'Send' }).click();
  await guest.getByTestId('chat-message').filter({ hasText: 'Welcome on stage!' }).waitFor(WAIT);
  await guest.getByLabel('Message').fill('Thanks for having me');
  await guest.getByRole('button', { name: 'Send' }).click();
  await host.getByTestId('chat-message').filter({ hasText: 'Thanks for having me' }).waitFor(WAIT);
  await viewer.getByTestId('chat-message').filter({ hasText: 'Thanks for having me' }).waitFor(WAIT);
  await guest.getByRole('button', { name: 'React: Fire' }).click();
  await host.locator('[data-testid="floating-reaction"][data-reaction="fire"]').first().waitFor(WAIT);
  await viewer.locator('[data-testid="floating-reaction"][data-reaction="fire"]').first().waitFor(WAIT);

  // 5. The viewer sends a gift from the tray: it floats up the host's page with the sender's name,
  // and the host's earnings show their share (70% of 5 coins, rounded down: 3).
  await credit(VIEWER, 100);
  await viewer.getByRole('button', { name: /Gifts/ }).click();
  await viewer.getByRole('button', { name: 'Send Heart (5 coins)' }).click();
  await host.locator('[data-testid="floating-gift"][data-gift="heart"]').filter({ hasText: VIEWER }).waitFor(WAIT);
  await host.getByTestId('host-earnings').filter({ hasText: 'Earned: 3 coins' }).waitFor(WAIT);
  await host.getByTestId('top-gifters').filter({ hasText: VIEWER }).waitFor(WAIT);

  // 6. The host pins the guest's message: everyone sees it above the chat.
  await host.getByRole('button', { name: `Pin message from ${GUEST}` }).click();
  await viewer.getByTestId('pinned-message').filter({ hasText: 'Thanks for having me' }).waitFor(WAIT);
  await guest.getByTestId('pinned-message').filter({ hasText: 'Thanks for having me' }).waitFor(WAIT);

  await host.screenshot({ path: join(ARTIFACTS, 'host-room.png') });
  await guest.screenshot({ path: join(ARTIFACTS, 'guest-room-375px.png') });
  await viewer.screenshot({ path: join(ARTIFACTS, 'viewer-room.png') });

  // 7. The host removes the guest: her page says so and she cannot come back.
  await hostControl(host, GUEST, 'Remove from live');
  await guest.getByTestId('removed').waitFor(WAIT);
  await guest.getByRole('button', { name: 'Back to the lobby' }).click();
  await guest.getByRole('button', { name: `Join ${TITLE}` }).click(WAIT);
  const refused = guest.getByTestId('room-failure');
  await refused.waitFor(WAIT);
  assert.match(await refused.innerText(), /cannot join/i);

  // The host ends the live: the viewer's page says it ended.
  await host.getByRole('button', { name: 'End live' }).click();
  await viewer.getByTestId('ended').waitFor(WAIT);
  assert.match(await viewer.getByTestId('ended').innerText(), /ended/i);

  // 8. The host's analytics: the figures, and charts drawn from non-empty series.
  await host.getByRole('button', { name: 'See the analytics' }).click(WAIT);
  await host.getByTestId('analytics').waitFor(WAIT);
  for (const chart of ['viewers-chart', 'chat-chart', 'reactions-chart']) {
    const canvas = host.getByTestId(chart);
    await canvas.waitFor(WAIT);
    const points = JSON.parse((await canvas.getAttribute('data-points')) ?? '[]') as number[];
    assert.ok(points.some((p) => p > 0), `${chart}: ${JSON.stringify(points)}`);
    const inked = await canvas.evaluate((el) => {
      const c = el as HTMLCanvasElement;
      const pixels = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray();
      let n = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) n++;
      return n;
    });
    assert.ok(inked > 100, `${chart} is drawn (${inked} pixels)`);
  }
  await host.screenshot({ path: join(ARTIFACTS, 'host-analytics.png'), fullPage: true });
});

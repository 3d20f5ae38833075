// Step 21's pages in a real browser: headless Chromium, driven by playwright-core.
//
// pages.rs, next to this file, starts the step with the tutorial's sample
// users and messages, plus a user whose nickname and name contain markup and
// a message whose content does, then runs this file with node's test runner.
// From step 20, a messages page is its logged-in user's: `openAs` logs the
// window in first, and the checks' own API calls carry a user's session.
// Every page opened with `open` is also checked for requests leaving this
// machine, errors in the browser console and dialogs
// (shared/browser/harness.mjs). Screenshots go to target/screenshots/.

import { createServer } from 'node:http';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  app,
  documentHeaders,
  expectConsoleErrors,
  inlineScriptIsRefused,
  open,
  screenshot,
} from '../../../../shared/browser/harness.mjs';

// What the API says the users are: the page must show exactly these.
const users = await app.getJson('/api/users');

// The sample users' passwords (shared::sample::PASSWORDS), and their ids.
// Dave (user 5) has 120 notes to himself: more than a page (step 21).
const passwords = {
  alice: 'alice-password',
  bob: 'bob-password',
  charlie: 'charlie-password',
  dave: 'dave-password',
};
const ids = { alice: 1, bob: 2, charlie: 3, dave: 5 };

/** Logs `nickname` in through the API; answers the session cookie to send, `session=...`. */
async function logIn(nickname, password = passwords[nickname]) {
  const response = await fetch(app.url('/api/login'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ nickname, password }),
  });
  assert.equal(response.status, 200, `logging in as ${nickname}`);
  return response.headers.getSetCookie()[0].split(';')[0];
}

// A session for each sample user, for the checks' own requests.
const sessions = Object.fromEntries(
  await Promise.all(Object.keys(passwords).map(async (nickname) => [nickname, await logIn(nickname)])),
);

/** GETs `path` as `nickname`, logged in; answers the JSON. */
async function getJsonAs(nickname, path) {
  const response = await fetch(app.url(path), { headers: { Cookie: sessions[nickname] } });
  assert.equal(response.status, 200, `GET ${path} as ${nickname}`);
  return response.json();
}

/**
 * Opens `path` in a window of its own logged in as `nickname`: the window's
 * browser context logs in first (its cookie jar gets the session), then
 * the page opens as with `open`.
 */
async function openAs(t, nickname, path, options = {}) {
  return open(t, path, {
    ...options,
    before: async (page) => {
      const response = await page.request.post(app.url('/api/login'), {
        data: { nickname, password: passwords[nickname] },
      });
      assert.equal(response.status(), 200);
      await options.before?.(page);
    },
  });
}

test('the users page shows every user as "nickname (name)", linking to their messages', async (t) => {
  assert.equal(users.length, 5, 'the 3 sample users, the one with markup, and dave');
  const page = await open(t, '/front/users');
  await screenshot(page, 'users');

  const links = page.locator('ul.users li a:not(.email)');
  assert.deepEqual(
    await links.allTextContents(),
    users.map((user) => `${user.nickname} (${user.name})`),
  );
  for (const [i, user] of users.entries()) {
    assert.equal(await links.nth(i).getAttribute('href'), `/front/messages/${user.id}`);
  }
});

test('each email is a mailto: link', async (t) => {
  const page = await open(t, '/front/users');
  const emails = page.locator('ul.users li a.email');
  assert.deepEqual(
    await emails.allTextContents(),
    users.map((user) => user.email),
  );
  for (const [i, user] of users.entries()) {
    assert.equal(await emails.nth(i).getAttribute('href'), `mailto:${user.email}`);
  }
});

test('the stylesheet is loaded and applied', async (t) => {
  const page = await open(t, '/front/users');
  // Ask the browser how it draws the elements, with static/style.css applied.
  const style = (selector, property) =>
    page.locator(selector).first().evaluate((element, property) =>
      getComputedStyle(element).getPropertyValue(property), property);
  assert.equal(await style('h1', 'color'), 'rgb(42, 93, 132)'); // #2a5d84
  assert.equal(await style('ul.users', 'list-style-type'), 'none');
  assert.equal(await style('ul.users li', 'border-top-left-radius'), '6px');
  assert.equal(await style('ul.users a.email', 'float'), 'right');
});

test('markup in a nickname or a name is shown as text, and nothing runs', async (t) => {
  const marked = users.find((user) => user.nickname.includes('<script>'));
  assert.ok(marked, 'pages.rs adds a user with markup in their nickname');
  const page = await open(t, '/front/users');

  // The text a person sees (innerText: as drawn on screen) is the markup itself...
  const link = page.locator(`ul.users a[href="/front/messages/${marked.id}"]`);
  assert.equal(await link.innerText(), `${marked.nickname} (${marked.name})`);
  // ...and the browser made no elements of it.
  assert.equal(await page.locator('ul.users script, ul.users b, ul.users img').count(), 0);
  // Had any of it run, an alert would have opened: `open` fails the check on any dialog.
});

test('the page allows scripts from this server only: an injected inline script is refused', async (t) => {
  const page = await open(t, '/front/users');
  const headers = await documentHeaders(page);
  assert.match(headers['content-security-policy'], /default-src 'self'/);
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.ok(await inlineScriptIsRefused(page), 'an inline script added to the page ran');
});

test('opening / lands on the users page', async (t) => {
  const page = await open(t, '/');
  assert.equal(new URL(page.url()).pathname, '/front/users');
  assert.equal(await page.title(), 'Users');
});

/** A date as the pages show it: `2026-11-26T09:30:00Z` → `2026-11-26 09:30 UTC`. */
const readable = (date) => `${date.slice(0, 10)} ${date.slice(11, 16)} UTC`;

test('the messages page shows the conversation as the API has it, oldest first', async (t) => {
  const conversation = await getJsonAs('alice', '/api/messages/with/1');
  assert.equal(conversation.length, 7, "alice's six sample messages and the one with markup");
  const page = await openAs(t, 'alice', '/front/messages');
  await screenshot(page, 'messages');
  assert.equal(await page.title(), 'Messages of alice');
  assert.equal(await page.locator('h1').innerText(), 'Messages of alice (Alice Caroll)');

  const rows = page.locator('table.messages tbody tr');
  assert.equal(await rows.count(), conversation.length);
  for (const [i, message] of conversation.entries()) {
    const cells = await rows.nth(i).locator('td').allInnerTexts();
    assert.deepEqual(cells, [
      readable(message.date),
      message.author.nickname,
      message.recipient.nickname,
      message.content,
    ]);
    const time = rows.nth(i).locator('time');
    assert.equal(await time.getAttribute('datetime'), message.date);
  }
  assert.equal(await page.locator('table.messages img, table.messages b').count(), 0);
});

test("a user on the users page leads to their messages, and the link leads back; another's are not theirs", async (t) => {
  const page = await openAs(t, 'bob', '/front/users');
  await page.getByRole('link', { name: 'bob (Bob Morane)' }).click();
  await page.waitForURL('**/front/messages/2');
  assert.equal(await page.locator('h1').innerText(), 'Messages of bob (Bob Morane)');
  await page.getByRole('link', { name: 'all the users' }).click();
  await page.waitForURL('**/front/users');
  // Alice's messages are hers: a 403 page, with the way to one's own.
  expectConsoleErrors(page, /status of 403/);
  await page.getByRole('link', { name: 'alice (Alice Caroll)' }).click();
  await page.waitForURL('**/front/messages/1');
  assert.equal(await page.locator('h1').innerText(), 'Not your messages');
  await screenshot(page, 'not-yours');
  await page.getByRole('link', { name: 'See yours.' }).click();
  await page.waitForURL('**/front/messages');
  assert.equal(await page.locator('h1').innerText(), 'Messages of bob (Bob Morane)');
});

test('an id that is no number gets a 404 page that leads back to the users', async (t) => {
  const page = await openAs(t, 'alice', '/front/messages/abc', { status: 404 });
  await screenshot(page, 'no-such-user');
  assert.equal(await page.locator('h1').innerText(), 'No such user');
  await page.getByRole('link', { name: 'See all the users.' }).click();
  await page.waitForURL('**/front/users');
});

/** Sends the form of `page`, with `send` (a click or Enter), and waits for the API's answer. */
async function sendFromTheForm(page, to, content, send) {
  await page.getByLabel('To').selectOption({ label: to });
  await page.getByLabel('Message').fill(content);
  const answer = page.waitForResponse(
    (response) => response.url().endsWith('/api/messages') && response.request().method() === 'POST',
  );
  await send();
  return answer;
}

test('the Send button stores the message, and the page stays', async (t) => {
  const page = await openAs(t, 'alice', '/front/messages/1');
  const before = (await getJsonAs('alice', '/api/messages')).length;
  const answer = await sendFromTheForm(page, 'charlie', 'sent with the button', () =>
    page.getByRole('button', { name: 'Send' }).click(),
  );
  assert.equal(answer.status(), 201);
  const messages = await getJsonAs('alice', '/api/messages');
  assert.equal(messages.length, before + 1);
  const stored = messages.at(-1);
  assert.deepEqual(
    [stored.author_id, stored.recipient_id, stored.content],
    [1, 3, 'sent with the button'],
  );
  assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, '/front/messages/1');
});

test('Enter in the message stores it too, and markup goes as text', async (t) => {
  const page = await openAs(t, 'bob', '/front/messages');
  const content = '<script>alert("typed")</script>';
  const answer = await sendFromTheForm(page, 'alice', content, () =>
    page.getByLabel('Message').press('Enter'),
  );
  assert.equal(answer.status(), 201);
  const stored = (await getJsonAs('bob', '/api/messages')).at(-1);
  assert.deepEqual([stored.author_id, stored.recipient_id, stored.content], [2, 1, content]);
  assert.equal(new URL(page.url()).search, '', 'no navigation with the fields in the URL');
});

test('a sent message appears once at the end of the table, without a reload, and the field empties', async (t) => {
  const page = await openAs(t, 'charlie', '/front/messages');
  await page.evaluate(() => (window.notReloaded = true));
  const rows = page.locator('table.messages tbody tr');
  const before = await rows.count();
  const content = '<img src=x onerror="alert(\'row ran\')"> & <b>bold?</b>';
  const answer = await sendFromTheForm(page, 'bob', content, () =>
    page.getByRole('button', { name: 'Send' }).click(),
  );
  const stored = await answer.json();
  await page.waitForFunction((n) => document.querySelectorAll('table.messages tbody tr').length > n, before);
  await page.waitForTimeout(300); // a second row, were one coming, would be there by now
  assert.equal(await rows.count(), before + 1);
  assert.deepEqual(await rows.last().locator('td').allInnerTexts(), [
    readable(stored.date),
    stored.author.nickname,
    stored.recipient.nickname,
    content,
  ]);
  assert.equal(await rows.last().locator('time').getAttribute('datetime'), stored.date);
  assert.equal(await page.locator('table.messages img, table.messages b').count(), 0);
  assert.equal(await page.getByLabel('Message').inputValue(), '');
  assert.equal(await page.locator('p.error').isHidden(), true);
  assert.equal(await page.evaluate(() => window.notReloaded), true, 'the page was reloaded');
  await screenshot(page, 'sent');
});

test('a message the server refuses shows why on the page, and keeps the text', async (t) => {
  const page = await openAs(t, 'alice', '/front/messages');
  expectConsoleErrors(page, /status of 422/); // Chromium notes each failed request
  const answer = await sendFromTheForm(page, 'bob', '   ', () =>
    page.getByRole('button', { name: 'Send' }).click(),
  );
  assert.equal(answer.status(), 422);
  const error = page.getByRole('alert');
  await error.waitFor();
  assert.equal(await error.innerText(), 'Not sent: content must not be empty');
  assert.equal(await page.getByLabel('Message').inputValue(), '   ');
  await screenshot(page, 'refused');

  // Sent again, right: the error goes and the message is stored.
  await sendFromTheForm(page, 'bob', 'better', () => page.getByLabel('Message').press('Enter'));
  await error.waitFor({ state: 'hidden' });
});

test('when the server does not answer, the page says so and keeps the text', async (t) => {
  const page = await openAs(t, 'alice', '/front/messages');
  expectConsoleErrors(page, /ERR_CONNECTION_REFUSED/);
  // As if the server had stopped: the browser cannot reach it.
  await page.route('**/api/messages', (route) => route.abort('connectionrefused'));
  await page.getByLabel('Message').fill('anyone there?');
  await page.getByRole('button', { name: 'Send' }).click();
  const error = page.getByRole('alert');
  await error.waitFor();
  assert.equal(await error.innerText(), 'Not sent: the server does not answer. Is it running?');
  assert.equal(await page.getByLabel('Message').inputValue(), 'anyone there?');
});

/**
 * Opens the messages page of `nickname` (at `url`: step 23, an instance's
 * own address), logged in, once its WebSocket is subscribed.
 */
async function openLive(t, nickname, url = '/front/messages') {
  const page = await openAs(t, nickname, url);
  await page.locator('body[data-subscribed="yes"]').waitFor({ state: 'attached' });
  return page;
}

test("alice's message appears at once, once, on bob's page and on her other pages, and on no one else's", async (t) => {
  const [alice, aliceElsewhere, bob, charlie] = await Promise.all(
    ['alice', 'alice', 'bob', 'charlie'].map((nickname) => openLive(t, nickname)),
  );
  const rowsOf = (page) => page.locator('table.messages tbody tr');
  const before = await Promise.all([alice, aliceElsewhere, bob, charlie].map((p) => rowsOf(p).count()));
  const content = 'live <img src=x onerror="alert(\'live ran\')">';
  const answer = await sendFromTheForm(alice, 'bob', content, () =>
    alice.getByRole('button', { name: 'Send' }).click(),
  );
  const stored = await answer.json();
  for (const [i, page] of [alice, aliceElsewhere, bob].entries()) {
    const row = page.locator(`table.messages tbody tr[data-id="${stored.id}"]`);
    await row.waitFor();
    assert.deepEqual(await row.locator('td').allInnerTexts(), [
      readable(stored.date),
      'alice',
      'bob',
      content,
    ]);
    assert.equal(await page.locator('table.messages img').count(), 0);
    // The sending page had it twice, from the POST and from its socket: shown once.
    await page.waitForTimeout(300);
    assert.equal(await rowsOf(page).count(), before[i] + 1);
  }
  await screenshot(bob, 'arrived');
  assert.equal(await rowsOf(charlie).count(), before[3], "charlie's page is unchanged");
});

test('after the server restarts, a page connects again by itself and the next message arrives', async (t) => {
  const bob = await openLive(t, 'bob');
  // While the server is down, the browser notes each failed try in the console.
  expectConsoleErrors(bob, /WebSocket connection to .* failed|ERR_CONNECTION_REFUSED/);
  const status = bob.getByRole('status');
  assert.match(await status.innerText(), /^connected/);

  await app.restart();
  // The page noticed (it tries again half a second later, at the earliest)...
  await bob.locator('body[data-subscribed="no"]').waitFor({ state: 'attached' });
  // ...and is connected again: still logged in, as the key is the same.
  await bob.locator('body[data-subscribed="yes"]').waitFor({ state: 'attached', timeout: 15_000 });
  assert.match(await status.innerText(), /^connected/);

  const stored = await postMessage('charlie', 2, 'after the restart');
  await bob.locator(`table.messages tbody tr[data-id="${stored.id}"]`).waitFor();
  await screenshot(bob, 'after-restart');
});

test('a page that lost its connection says so, and catches up on what it missed', async (t) => {
  const alice = await openLive(t, 'alice');
  expectConsoleErrors(alice, /WebSocket connection to .* failed|ERR_CONNECTION_REFUSED/);
  // The network drops: the page's socket closes, and its next tries fail.
  let networkDown = true;
  await alice.routeWebSocket(/\/ws$/, (socket) =>
    networkDown ? socket.close() : socket.connectToServer(),
  );
  await alice.evaluate(() => socket.close());
  const status = alice.getByRole('status');
  await alice.locator('body[data-subscribed="no"]').waitFor({ state: 'attached' });
  assert.match(await status.innerText(), /^not connected: trying again/);
  await screenshot(alice, 'not-connected');

  // Meanwhile, bob writes to alice; then the network comes back.
  const stored = await postMessage('bob', 1, 'while you were away');
  networkDown = false;
  await alice.locator('body[data-subscribed="yes"]').waitFor({ state: 'attached', timeout: 15_000 });
  await alice.locator(`table.messages tbody tr[data-id="${stored.id}"]`).waitFor();
});

/**
 * Stores a message through the API, as `author`'s other page would (at
 * `base`: step 23, an instance's own address); answers it.
 */
async function postMessage(author, recipientId, content, base = app.url('/')) {
  const response = await fetch(new URL('/api/messages', base), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Cookie: sessions[author] },
    body: JSON.stringify({ recipient_id: recipientId, content }),
  });
  assert.equal(response.status, 201);
  return response.json();
}

/** The ids of the rows of the messages table, in the order they are shown. */
const rowIds = (page) =>
  page.locator('table.messages tbody tr').evaluateAll((rows) => rows.map((row) => Number(row.dataset.id)));

test('a message sent while the page loads appears without a reload', async (t) => {
  // The page's script comes late: a message to bob is stored after the HTML
  // was served, before the page's socket subscribed.
  let missed;
  const bob = await openAs(t, 'bob', '/front/messages', {
    before: (page) =>
      page.route('**/static/script.js', async (route) => {
        missed = await postMessage('alice', 2, 'sent while the page loaded');
        await route.continue();
      }),
  });
  await bob.locator('body[data-subscribed="yes"]').waitFor({ state: 'attached' });
  await bob.locator(`table.messages tbody tr[data-id="${missed.id}"]`).waitFor({ timeout: 1000 });
  assert.match(await bob.getByRole('status').innerText(), /^connected/);
  const timing = await bob.evaluate(() => {
    const fetched = performance.getEntriesByType('resource').find((e) => e.name.includes('/api/messages/with/'));
    return { catchUp: fetched.duration, upToDate: performance.now() };
  });
  console.log(`first load: catch-up fetched in ${timing.catchUp.toFixed(1)} ms; page up to date by ${timing.upToDate.toFixed(0)} ms`);
});

test('rows stay in id order when live messages arrive before the catch-up', async (t) => {
  // The catch-up's answer is held back until two newer messages have come
  // live; one message was stored before the page subscribed.
  let release;
  const held = new Promise((resolve) => (release = resolve));
  let early;
  const bob = await openAs(t, 'bob', '/front/messages', {
    before: async (page) => {
      await page.route('**/static/script.js', async (route) => {
        early = await postMessage('charlie', 2, 'before the subscription');
        await route.continue();
      });
      await page.route('**/api/messages/with/2', async (route) => {
        await held;
        await route.continue();
      });
    },
  });
  const status = bob.getByRole('status');
  await status.filter({ hasText: 'catching up' }).waitFor();
  const live = [await postMessage('alice', 2, 'live one'), await postMessage('alice', 2, 'live two')];
  for (const message of live) {
    await bob.locator(`table.messages tbody tr[data-id="${message.id}"]`).waitFor();
  }
  assert.match(await status.innerText(), /catching up/, 'not "connected" before it is up to date');
  release();
  await bob.locator('body[data-subscribed="yes"]').waitFor({ state: 'attached' });
  const ids = await rowIds(bob);
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'in id order');
  assert.equal(new Set(ids).size, ids.length, 'each once');
  assert.ok(ids.includes(early.id), 'the message stored before the subscription');
});

test('a catch-up that fails is tried again; the page says connected only once up to date', async (t) => {
  let failures = 1;
  const alice = await openAs(t, 'alice', '/front/messages', {
    before: (page) => {
      expectConsoleErrors(page, /ERR_FAILED|Failed to load resource/);
      return page.route('**/api/messages/with/1', (route) =>
        failures-- > 0 ? route.abort('failed') : route.continue(),
      );
    },
  });
  const status = alice.getByRole('status');
  await status.filter({ hasText: 'catching up failed: trying again' }).waitFor();
  assert.equal(await alice.locator('body[data-subscribed="yes"]').count(), 0);
  await alice.locator('body[data-subscribed="yes"]').waitFor({ state: 'attached', timeout: 5000 });
  assert.match(await status.innerText(), /^connected: new messages appear/);
});

// Step 21: a conversation in pages.

/** Dave's whole conversation, oldest first, walked back page by page through the API. */
async function wholeConversationOfDave() {
  const messages = [];
  let url = '/api/messages/with/5?limit=200';
  while (url) {
    const response = await fetch(app.url(url), { headers: { Cookie: sessions.dave } });
    assert.equal(response.status, 200);
    messages.unshift(...(await response.json()));
    url = response.headers.get('Link')?.match(/<([^>]*)>; rel="prev"/)?.[1];
  }
  return messages;
}

test('the page shows the newest 50; "Older messages" adds the page before above, keeping the reading position, up to the start', async (t) => {
  const all = (await wholeConversationOfDave()).map((message) => message.id);
  assert.equal(all.length, 120);
  const dave = await openAs(t, 'dave', '/front/messages');
  await dave.locator('body[data-subscribed="yes"]').waitFor({ state: 'attached' });
  assert.deepEqual(await rowIds(dave), all.slice(-50), 'the newest 50, oldest first');
  const older = dave.getByRole('button', { name: 'Older messages' });

  for (const shown of [100, 120]) {
    // The reader is at the top, reading the first row shown.
    const [firstId] = await rowIds(dave);
    const first = dave.locator(`table.messages tbody tr[data-id="${firstId}"]`);
    await first.scrollIntoViewIfNeeded();
    const before = await first.boundingBox();
    await older.click();
    await dave.locator('table.messages tbody tr').nth(shown - 1).waitFor();
    assert.deepEqual(await rowIds(dave), all.slice(-shown), `the newest ${shown}, in order`);
    // The page added 50 rows above it: that row has not moved on the screen.
    const after = await first.boundingBox();
    assert.ok(Math.abs(after.y - before.y) <= 1, `the row stays at ${before.y}px, not ${after.y}px`);
  }
  await screenshot(dave, 'older-messages');
  // The start of the conversation: no more button, and the page says so.
  assert.equal(await older.count(), 0);
  assert.equal(await dave.locator('p.older').innerText(), 'The start of the conversation.');
});

test('a page that lost its connection catches up page by page back to what it has, not the whole conversation', async (t) => {
  const dave = await openAs(t, 'dave', '/front/messages');
  expectConsoleErrors(dave, /WebSocket connection to .* failed|ERR_CONNECTION_REFUSED/);
  await dave.locator('body[data-subscribed="yes"]').waitFor({ state: 'attached' });
  const shown = await rowIds(dave);
  let networkDown = true;
  await dave.routeWebSocket(/\/ws$/, (socket) => (networkDown ? socket.close() : socket.connectToServer()));
  await dave.evaluate(() => socket.close());
  await dave.locator('body[data-subscribed="no"]').waitFor({ state: 'attached' });
  // 60 notes while away: more than a page; then a live one once back.
  const missed = [];
  for (let i = 0; i < 60; i++) missed.push((await postMessage('dave', 5, `while away ${i}`)).id);
  const fetched = [];
  dave.on('request', (request) => {
    if (request.url().includes('/api/messages/with/')) fetched.push(new URL(request.url()).search);
  });
  networkDown = false;
  await dave.locator('body[data-subscribed="yes"]').waitFor({ state: 'attached', timeout: 15_000 });
  assert.deepEqual(await rowIds(dave), [...shown, ...missed], 'what it had, then all it missed, in order');
  assert.equal(fetched.length, 2, `two pages of 50 for 60 missed: ${fetched}`);
  assert.equal(fetched[0], '', 'the newest page first');
  assert.match(fetched[1], /^\?before=\d+&limit=50$/);
  // And live messages still come.
  const live = await postMessage('dave', 5, 'live again');
  await dave.locator(`table.messages tbody tr[data-id="${live.id}"]`).waitFor();
});

test("a row the page's own POST added during a catch-up does not mark older messages as had", async (t) => {
  const dave = await openAs(t, 'dave', '/front/messages');
  expectConsoleErrors(dave, /WebSocket connection to .* failed|ERR_CONNECTION_REFUSED/);
  await dave.locator('body[data-subscribed="yes"]').waitFor({ state: 'attached' });
  // From now on the page's socket goes through here: its events can be held back.
  let holdEvents = false;
  await dave.routeWebSocket(/\/ws$/, (socket) => {
    const server = socket.connectToServer();
    server.onMessage((event) => holdEvents || socket.send(event));
  });
  // The next catch-up's first page is read at once, and answered when let go.
  let letGo;
  const gate = new Promise((resolve) => (letGo = resolve));
  t.after(() => letGo()); // even if the check fails half-way
  let read;
  const pageRead = new Promise((resolve) => (read = resolve));
  await dave.route(/\/api\/messages\/with\//, async (route) => {
    const response = await route.fetch();
    read();
    await gate;
    await route.fulfill({ response });
  });
  await dave.evaluate(() => socket.close());
  await pageRead;
  // While that page is on its way: a message whose event never arrives,
  // 55 more (so that it is not in the newest page), then one sent from
  // this page, whose POST answer adds its row.
  holdEvents = true;
  const missed = [(await postMessage('dave', 5, 'on its way')).id];
  for (let i = 0; i < 55; i++) missed.push((await postMessage('dave', 5, `after it ${i}`)).id);
  const answer = await sendFromTheForm(dave, 'alice', 'sent from the page', () =>
    dave.getByRole('button', { name: 'Send' }).click(),
  );
  const sent = (await answer.json()).id;
  await dave.locator(`table.messages tbody tr[data-id="${sent}"]`).waitFor();
  letGo();
  await dave.locator('body[data-subscribed="yes"]').waitFor({ state: 'attached' });
  // The socket drops before the held events arrive; the next catch-up must
  // read back past the page's own row.
  await dave.unroute(/\/api\/messages\/with\//);
  await dave.evaluate(() => socket.close());
  holdEvents = false;
  await dave.locator('body[data-subscribed="no"]').waitFor({ state: 'attached' });
  await dave.locator('body[data-subscribed="yes"]').waitFor({ state: 'attached', timeout: 15_000 });
  const shown = await rowIds(dave);
  for (const id of missed) assert.ok(shown.includes(id), `message ${id} is missing`);
  assert.deepEqual(shown, [...shown].sort((a, b) => a - b), 'rows in id order');
});

test('odd input through the form: stored and shown as typed, or refused naming the field', async (t) => {
  const page = await openAs(t, 'alice', '/front/messages');
  expectConsoleErrors(page, /status of 422/); // the two refused on purpose, below
  const send = () => page.getByRole('button', { name: 'Send' }).click();
  const odd = [
    '<script>alert("form ran")</script><img src=x onerror="alert(\'form img ran\')">',
    "'); DROP TABLE messages; --",
    'Zoë 🐱 中文 عربى e\u0301 \u202ereversed',
    'back\\slash "quotes" & ampersand',
    'long '.repeat(2_000),
  ];
  for (const content of odd) {
    const answer = await sendFromTheForm(page, 'charlie', content, send);
    assert.equal(answer.status(), 201);
    assert.equal((await answer.json()).content, content);
  }

  // A script in the page that names an author (step 20): refused, whoever it names.
  const asBob = await page.evaluate(async () => {
    const response = await fetch('/api/messages', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ author_id: 2, recipient_id: 3, content: 'as bob?' }),
    });
    return [response.status, (await response.json()).error];
  });
  assert.deepEqual(asBob, [422, 'author_id: leave it out, the author is whoever is logged in']);
  // A form changed in the developer tools: the id it sends is refused, naming the field.
  await page.locator('select#recipient option', { hasText: 'bob' }).evaluate((option) => (option.value = '999'));
  const answer = await sendFromTheForm(page, 'bob', 'to nobody', send);
  assert.equal(answer.status(), 422);
  assert.equal((await answer.json()).error, 'recipient_id: no user with id 999');
  await page.getByText('Not sent: recipient_id: no user with id 999').waitFor();

  // Read again from the server, each message shows as typed, and nothing ran
  // (`open` fails the check on any dialog).
  await page.reload();
  const cells = await page.locator('table.messages tbody tr td:last-child').allInnerTexts();
  assert.deepEqual(cells.slice(-odd.length), odd.map((content) => content.trim()));
  assert.equal(await page.locator('table.messages script, table.messages img').count(), 0);
  await screenshot(page, 'odd-input');
});

test("the form's controls are styled like the rest of the page", async (t) => {
  const page = await openAs(t, 'alice', '/front/messages');
  const style = (selector, property) =>
    page.locator(selector).first().evaluate((element, property) =>
      getComputedStyle(element).getPropertyValue(property), property);
  const bodyFont = await style('body', 'font-family');
  for (const control of ['form#send select', 'form#send input[type="text"]', 'form#send button']) {
    assert.equal(await style(control, 'font-family'), bodyFont, control);
    assert.equal(await style(control, 'border-top-left-radius'), '6px', control);
  }
  assert.equal(await style('form#send button', 'background-color'), 'rgb(42, 93, 132)'); // #2a5d84
  assert.equal(await style('form#send button', 'color'), 'rgb(255, 255, 255)');
  await screenshot(page, 'form');
});

// Step 20: accounts.

test('signing up through the form logs in, and opens the new user\'s messages', async (t) => {
  const page = await open(t, '/front/signup');
  await page.getByLabel('Name', { exact: true }).fill('Dora Explorer');
  await page.getByLabel('Email').fill('dora@foo.com');
  await page.getByLabel('Nickname').fill('dora');
  await page.getByLabel('Password').fill('dora-password');
  await screenshot(page, 'signup');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.waitForURL('**/front/messages');
  assert.equal(await page.locator('h1').innerText(), 'Messages of dora (Dora Explorer)');
  await page.locator('body[data-subscribed="yes"]').waitFor({ state: 'attached' });
  // The session cookie is out of the page's scripts' reach (HttpOnly).
  assert.equal(await page.evaluate(() => document.cookie), '');
  const cookies = await page.context().cookies();
  const session = cookies.find((cookie) => cookie.name === 'session');
  assert.ok(session?.httpOnly, 'HttpOnly');
  assert.equal(session.sameSite, 'Lax');
});

test('signing up with a nickname taken or a password too short says why, and keeps the fields', async (t) => {
  const page = await open(t, '/front/signup');
  expectConsoleErrors(page, /status of (409|422)/);
  await page.getByLabel('Name', { exact: true }).fill('Another Alice');
  await page.getByLabel('Email').fill('alice2@foo.com');
  await page.getByLabel('Nickname').fill('alice');
  await page.getByLabel('Password').fill('12345678');
  await page.getByRole('button', { name: 'Sign up' }).click();
  const error = page.getByRole('alert');
  await error.waitFor();
  assert.equal(await error.innerText(), 'the nickname "alice" is taken: choose another one');
  await page.getByLabel('Nickname').fill('alice2');
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByText('password must be at least 8 characters long').waitFor();
  assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'Another Alice');
  assert.equal(new URL(page.url()).pathname, '/front/signup');
});

test('logging in through the form: a wrong password says so, the right one opens the messages', async (t) => {
  const page = await open(t, '/front/login');
  expectConsoleErrors(page, /status of 401/);
  await page.getByLabel('Nickname').fill('bob');
  await page.getByLabel('Password').fill('not-bobs-password');
  await page.getByRole('button', { name: 'Log in' }).click();
  const error = page.getByRole('alert');
  await error.waitFor();
  assert.equal(await error.innerText(), 'wrong nickname or password');
  await screenshot(page, 'login-refused');
  await page.getByLabel('Password').fill(passwords.bob);
  await page.getByLabel('Password').press('Enter');
  await page.waitForURL('**/front/messages');
  assert.equal(await page.locator('h1').innerText(), 'Messages of bob (Bob Morane)');
});

test('logged out, the messages page is the login form, which leads back to it', async (t) => {
  const page = await open(t, '/front/messages', { status: 401 });
  assert.equal(await page.locator('h1').innerText(), 'Log in');
  await page.getByLabel('Nickname').fill('charlie');
  await page.getByLabel('Password').fill(passwords.charlie);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('h1', { hasText: 'Messages of charlie' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/front/messages');
});

test('the Log out button ends the session: the page goes to the login form, and the messages are out of reach', async (t) => {
  const page = await openLive(t, 'alice');
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL('**/front/login');
  assert.deepEqual(await page.context().cookies(), [], 'the cookie is deleted');
  const users = await page.goto(app.url('/front/users'));
  assert.equal(users.status(), 200);
  await page.getByRole('link', { name: 'Log in' }).waitFor();
  expectConsoleErrors(page, /status of 401/);
  const messages = await page.goto(app.url('/front/messages'));
  assert.equal(messages.status(), 401);
  assert.equal(await page.locator('h1').innerText(), 'Log in');
});

test('a page of another program on this machine cannot log the user out: its Origin is refused', async (t) => {
  // Another program's page: the same site for the browser, so the cookie
  // goes with what it sends (SameSite does not stop it), but another origin.
  const elsewhere = createServer((request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    response.end(
      `<!DOCTYPE html><title>Elsewhere</title><link rel="icon" href="data:,">
       <form method="post" action="${app.url('/api/logout')}"><button>Win a prize</button></form>`,
    );
  });
  await new Promise((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
  t.after(() => elsewhere.close());
  const page = await openAs(t, 'alice', '/front/messages');
  expectConsoleErrors(page, /status of 403/);
  await page.goto(`http://127.0.0.1:${elsewhere.address().port}/`);
  const [answer] = await Promise.all([
    page.waitForResponse(app.url('/api/logout')),
    page.getByRole('button', { name: 'Win a prize' }).click(),
  ]);
  assert.equal(answer.status(), 403);
  assert.match((await answer.json()).error, /^a page of http:\/\/127\.0\.0\.1:\d+ may not send this$/);
  // Still logged in.
  const messages = await page.goto(app.url('/front/messages'));
  assert.equal(messages.status(), 200);
  assert.equal(await page.locator('h1').innerText(), 'Messages of alice (Alice Caroll)');
});

// Step 23: the checks above ran through nginx, in front of three instances;
// these are about the instances. pages.rs answers `app.control(...)`: the
// instances' own addresses, which have a page of a user, one killed, Redis
// or PostgreSQL stopped and started again.

/** The instances' own addresses, `http://127.0.0.1:PORT`, in nginx's order. */
const instances = JSON.parse(await app.control('instances'));

/** Waits until `page` shows each of `ids`; then checks every row is there once, in id order. */
async function showsEachOnceInOrder(page, ids) {
  for (const id of ids) {
    await page.locator(`table.messages tbody tr[data-id="${id}"]`).waitFor({ timeout: 15_000 });
  }
  const shown = await rowIds(page);
  assert.deepEqual(shown, [...new Set(shown)].sort((a, b) => a - b), 'each row once, in id order');
}

test('a page on each instance gets every message posted through any of them, once, in order', async (t) => {
  const pages = [];
  for (const url of instances) pages.push(await openLive(t, 'bob', `${url}/front/messages`));
  // Three at once through each instance's own address: all nine at once.
  const sent = instances.flatMap((url) =>
    [1, 2, 3].map((n) => postMessage('alice', 2, `through ${url}, ${n}`, url)),
  );
  const ids = (await Promise.all(sent)).map((message) => message.id);
  for (const page of pages) await showsEachOnceInOrder(page, ids);
  await screenshot(pages[2], 'third-instance');
});

test('an instance killed while messages flow: its pages reconnect through nginx, and every message acknowledged is shown once', async (t) => {
  // A user of this check's own, so that the instances' logs name only the
  // pages opened here.
  const erin = { name: 'Erin Kill', email: 'erin@foo.com', nickname: 'erin', password: 'erin-password' };
  const signedUp = await fetch(app.url('/api/users'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(erin),
  });
  assert.equal(signedUp.status, 201);
  const { id } = await signedUp.json();
  passwords.erin = erin.password;
  const pages = [];
  for (let i = 0; i < 3; i++) pages.push(await openLive(t, 'erin'));
  // How many sockets each page opened: a reconnection is a second one.
  const sockets = pages.map(() => 0);
  pages.forEach((page, i) => page.on('websocket', () => (sockets[i] += 1)));
  const serving = JSON.parse(await app.control(`instances with pages of user ${id}`));
  assert.ok(serving.length > 0, 'the pages are on some instance');

  // alice writes to erin through nginx, every 10 ms; the first instance
  // with a page of erin is killed after the tenth.
  const acknowledged = [];
  for (let n = 0; n < 60; n++) {
    if (n === 10) await app.control(`kill ${serving[0]}`);
    const response = await fetch(app.url('/api/messages'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Cookie: sessions.alice },
      body: JSON.stringify({ recipient_id: id, content: `message ${n}` }),
    }).catch(() => null);
    // A POST cut with its instance may get no answer, or 502: not acknowledged.
    if (response?.status === 201) acknowledged.push((await response.json()).id);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(acknowledged.length >= 50, `only ${acknowledged.length} acknowledged`);
  for (const page of pages) {
    await page.locator('body[data-subscribed="yes"]').waitFor({ state: 'attached', timeout: 15_000 });
    await showsEachOnceInOrder(page, acknowledged);
  }
  assert.ok(sockets.some((count) => count > 0), `no page reconnected: ${sockets}`);
  t.diagnostic(`${acknowledged.length} of 60 acknowledged; sockets opened again by each page: ${sockets}`);
  await app.control(`start ${serving[0]}`);
});

test('Redis stopped and started again: each page catches up on what was posted meanwhile', async (t) => {
  const pages = [];
  for (const url of instances) pages.push(await openLive(t, 'charlie', `${url}/front/messages`));
  await app.control('stop redis');
  // Stored all the same: the database is the truth, the live feed a hint.
  const meanwhile = [];
  for (const n of [1, 2, 3]) meanwhile.push((await postMessage('bob', 3, `while Redis is away, ${n}`)).id);
  await app.control('start redis');
  for (const page of pages) await showsEachOnceInOrder(page, meanwhile);
  // And live again.
  const after = await postMessage('bob', 3, 'Redis is back');
  for (const page of pages) await showsEachOnceInOrder(page, [after.id]);
});

test('PostgreSQL stopped: the form says the message was not sent, keeps it, and sends it once PostgreSQL is back', async (t) => {
  const alice = await openLive(t, 'alice');
  const bob = await openLive(t, 'bob');
  expectConsoleErrors(alice, /status of 503/);
  await app.control('stop postgres');
  const refused = await sendFromTheForm(alice, 'bob', 'while PostgreSQL is away', () =>
    alice.getByRole('button', { name: 'Send' }).click(),
  );
  assert.equal(refused.status(), 503);
  const error = alice.getByRole('alert');
  await error.waitFor();
  assert.match(await error.innerText(), /^Not sent: the database cannot be used now/);
  assert.equal(await alice.getByLabel('Message').inputValue(), 'while PostgreSQL is away');
  await screenshot(alice, 'postgresql-away');

  await app.control('start postgres');
  const answer = await sendFromTheForm(alice, 'bob', 'while PostgreSQL is away', () =>
    alice.getByRole('button', { name: 'Send' }).click(),
  );
  assert.equal(answer.status(), 201);
  await error.waitFor({ state: 'hidden' });
  await showsEachOnceInOrder(bob, [(await answer.json()).id]);
});

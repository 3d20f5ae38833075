// Step 15's pages in a real browser: headless Chromium, driven by playwright-core.
//
// pages.rs, next to this file, starts the step with the tutorial's sample
// users and messages, plus a user whose nickname and name contain markup and
// a message whose content does, then runs this file with node's test runner.
// Every page opened with `open` is also checked for requests leaving this
// machine, errors in the browser console and dialogs
// (shared/browser/harness.mjs). Screenshots go to target/screenshots/.

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

test('the users page shows every user as "nickname (name)", linking to their messages', async (t) => {
  assert.equal(users.length, 4, 'the 3 sample users and the one with markup');
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
  const conversation = await app.getJson('/api/messages/with/1');
  assert.equal(conversation.length, 7, "alice's six sample messages and the one with markup");
  const page = await open(t, '/front/messages/1');
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

test('a user on the users page leads to their messages, and the link leads back', async (t) => {
  const page = await open(t, '/front/users');
  await page.getByRole('link', { name: 'bob (Bob Morane)' }).click();
  await page.waitForURL('**/front/messages/2');
  assert.equal(await page.locator('h1').innerText(), 'Messages of bob (Bob Morane)');
  await page.getByRole('link', { name: 'all the users' }).click();
  await page.waitForURL('**/front/users');
});

test('an unknown user gets a 404 page that leads back to the users', async (t) => {
  const page = await open(t, '/front/messages/99', { status: 404 });
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
  const page = await open(t, '/front/messages/1');
  const before = (await app.getJson('/api/messages')).length;
  const answer = await sendFromTheForm(page, 'charlie', 'sent with the button', () =>
    page.getByRole('button', { name: 'Send' }).click(),
  );
  assert.equal(answer.status(), 201);
  const messages = await app.getJson('/api/messages');
  assert.equal(messages.length, before + 1);
  const stored = messages.at(-1);
  assert.deepEqual(
    [stored.author_id, stored.recipient_id, stored.content],
    [1, 3, 'sent with the button'],
  );
  assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, '/front/messages/1');
});

test('Enter in the message stores it too, and markup goes as text', async (t) => {
  const page = await open(t, '/front/messages/2');
  const content = '<script>alert("typed")</script>';
  const answer = await sendFromTheForm(page, 'alice', content, () =>
    page.getByLabel('Message').press('Enter'),
  );
  assert.equal(answer.status(), 201);
  const stored = (await app.getJson('/api/messages')).at(-1);
  assert.deepEqual([stored.author_id, stored.recipient_id, stored.content], [2, 1, content]);
  assert.equal(new URL(page.url()).search, '', 'no navigation with the fields in the URL');
});

test('a sent message appears once at the end of the table, without a reload, and the field empties', async (t) => {
  const page = await open(t, '/front/messages/3');
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
  const page = await open(t, '/front/messages/1');
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
  const page = await open(t, '/front/messages/1');
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

test('odd input through the form: stored and shown as typed, or refused naming the field', async (t) => {
  const page = await open(t, '/front/messages/1');
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

  // A form changed in the developer tools: the ids it sends are refused, naming the field.
  const author = page.locator('input[name="author_id"]');
  await author.evaluate((input) => (input.value = 'alice'));
  let answer = await sendFromTheForm(page, 'charlie', 'from a name', send);
  assert.equal(answer.status(), 422);
  assert.match((await answer.json()).error, /^author_id must be a user's id/);
  const error = page.getByRole('alert');
  await error.waitFor();
  assert.match(await error.innerText(), /^Not sent: author_id must be a user's id/);
  await author.evaluate((input) => (input.value = '1'));
  await page.locator('select#recipient option', { hasText: 'bob' }).evaluate((option) => (option.value = '999'));
  answer = await sendFromTheForm(page, 'bob', 'to nobody', send);
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
  const page = await open(t, '/front/messages/1');
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

// Step 06's pages in a real browser: headless Chromium, driven by playwright-core.
//
// pages.rs, next to this file, starts the step with the tutorial's sample
// users plus one whose nickname and name contain markup, then runs this file
// with node's test runner. Every page opened with `open` is also checked for
// requests leaving this machine, errors in the browser console and dialogs
// (shared/browser/harness.mjs). Screenshots go to target/screenshots/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  app,
  documentHeaders,
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

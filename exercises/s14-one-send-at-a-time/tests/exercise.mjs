// Exercise s14-one-send-at-a-time, in a real browser (headless Chromium,
// driven by playwright-core; see docs/browser-tests.md). Each test holds the
// page's POST /api/messages on its way, looks at the Send button, then lets
// it through. Every assertion's message says what was expected.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { app, expectConsoleErrors, open } from '../../../../shared/browser/harness.mjs';

/**
 * Holds every POST /api/messages of `page` until `release()`; `then` says
 * what to do with it afterwards (send it on, or fail it as a dead server would).
 */
async function holdTheSends(page, then = (route) => route.continue()) {
  let release;
  const released = new Promise((resolve) => (release = resolve));
  const held = [];
  await page.route('**/api/messages', async (route) => {
    held.push(route.request());
    await released;
    await then(route);
  });
  return { held, release: () => release() };
}

/** Waits until `condition()` holds, for at most `ms`. */
async function until(condition, ms = 5_000) {
  for (let waited = 0; waited < ms && !(await condition()); waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The Send button's state: "disabled Sending…" or "enabled Send". */
async function state(button) {
  const disabled = await button.isDisabled();
  return `${disabled ? 'disabled' : 'enabled'} ${(await button.innerText()).trim()}`;
}

test('while a message is on its way the button is disabled and reads Sending…, then comes back', async (t) => {
  const page = await open(t, '/front/messages/1');
  const button = page.locator('form#send button');
  const { held, release } = await holdTheSends(page);
  const before = (await app.getJson('/api/messages')).length;

  await page.getByLabel('To').selectOption({ label: 'bob' });
  await page.getByLabel('Message').fill('only once');
  await button.click();
  await until(() => held.length === 1);
  assert.equal(held.length, 1, 'clicking Send should send the message');
  await until(async () => (await state(button)) === 'disabled Sending…', 2_000);
  assert.equal(
    await state(button),
    'disabled Sending…',
    'while the message is on its way, the Send button should be disabled and read "Sending…"',
  );

  // Impatient: Enter in the field, a click that cannot land (the button is disabled).
  await page.getByLabel('Message').press('Enter');
  await button.click({ force: true, timeout: 1_000 }).catch(() => {});
  await page.waitForTimeout(300);
  assert.equal(held.length, 1, 'Enter or a click while the message is on its way should send nothing more');

  release();
  await until(async () => (await state(button)) === 'enabled Send');
  assert.equal(
    await state(button),
    'enabled Send',
    'once the message is stored, the Send button should be enabled again and read "Send"',
  );
  const after = await app.getJson('/api/messages');
  assert.equal(after.length, before + 1, 'the message should be stored once');
  await page.getByRole('cell', { name: 'only once' }).waitFor();
});

test('after a refusal the button comes back, and the reason is shown', async (t) => {
  const page = await open(t, '/front/messages/1');
  expectConsoleErrors(page, /status of 422/);
  const button = page.locator('form#send button');
  const { held, release } = await holdTheSends(page);
  await page.getByLabel('Message').fill('   ');
  await button.click();
  await until(() => held.length === 1);
  await until(async () => (await state(button)) === 'disabled Sending…', 2_000);
  assert.equal(
    await state(button),
    'disabled Sending…',
    'while the message is on its way, the Send button should be disabled and read "Sending…"',
  );
  release();
  await page.getByRole('alert').waitFor();
  await until(async () => (await state(button)) === 'enabled Send');
  assert.equal(
    await state(button),
    'enabled Send',
    'after the server refused the message, the Send button should be enabled again and read "Send"',
  );
  assert.equal(await page.getByRole('alert').innerText(), 'Not sent: content must not be empty');
});

test('when the server does not answer the button comes back too, and the text stays', async (t) => {
  const page = await open(t, '/front/messages/1');
  expectConsoleErrors(page, /ERR_CONNECTION_REFUSED/);
  const button = page.locator('form#send button');
  const { held, release } = await holdTheSends(page, (route) => route.abort('connectionrefused'));
  await page.getByLabel('Message').fill('anyone there?');
  await button.click();
  await until(() => held.length === 1);
  await until(async () => (await state(button)) === 'disabled Sending…', 2_000);
  assert.equal(
    await state(button),
    'disabled Sending…',
    'while the message is on its way, the Send button should be disabled and read "Sending…"',
  );
  release();
  await page.getByRole('alert').waitFor();
  await until(async () => (await state(button)) === 'enabled Send');
  assert.equal(
    await state(button),
    'enabled Send',
    'when the server cannot be reached, the Send button should be enabled again and read "Send"',
  );
  assert.equal(await page.getByLabel('Message').inputValue(), 'anyone there?');

  // And it works again: the next message goes through.
  await page.unrouteAll();
  await page.getByLabel('Message').fill('there you are');
  await button.click();
  await page.getByRole('cell', { name: 'there you are' }).waitFor();
});

// The built book in headless Chromium (xtask/tests/xtask/book.rs serves
// target/book and runs this): a chapter shows its lesson, its diff
// highlighted and its code; the search answers with nothing from the
// network. The harness fails a check on any request that leaves the machine
// and on any console error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, screenshot } from '../../../shared/browser/harness.mjs';

test('a chapter shows the lesson, the diff highlighted and the code', async (t) => {
  const page = await open(t, '/steps/s05/README.html');
  // As projected in class: wide, with the table of contents open.
  await page.setViewportSize({ width: 1280, height: 900 });
  if ((await page.locator('html.sidebar-visible').count()) === 0) {
    await page.locator('#mdbook-sidebar-toggle').click();
  }
  await page.locator('#mdbook-sidebar a[href$="s05/README.html"]').first().waitFor();
  const main = page.locator('main');
  assert.equal(await main.locator('h1').first().textContent(), 'Step 05: / redirects to the users page');
  // The diff, highlighted by highlight.js: added and removed lines coloured.
  const diff = main.locator('code.language-diff');
  await diff.locator('.hljs-addition').first().waitFor();
  assert.match(await diff.textContent(), /\+async fn index\(\) -> HttpResponse \{/);
  assert.ok((await diff.locator('.hljs-deletion').count()) > 0);
  // The code, taken by name from the step's file: the new handler whole,
  // under a caption that names it.
  await main.getByText('index, new, in src/main.rs:').waitFor();
  const blocks = await main.locator('code.language-rust').allTextContents();
  assert.ok(
    blocks.some((block) => /^\/\/ try it: open http:\/\/localhost:5001\/.*\n#\[get\("\/"\)\]\nasync fn index\(\)/.test(block)),
    'the handler index, whole',
  );
  assert.doesNotMatch(await main.textContent(), /\{\{#include/);
  // The sidebar slides in: wait for its transition to end.
  await page.evaluate(() => Promise.all(document.getAnimations().map((a) => a.finished)));
  await screenshot(page, 's05');
  // The lesson's links lead to chapters: "next: 06" to step 06's.
  await main.getByRole('link', { name: '06 →' }).click();
  await page.waitForURL('**/steps/s06/README.html');
});

test('the search works offline', async (t) => {
  const page = await open(t, '/index.html');
  // "s" opens the search, as for a reader; it searches as one types (keyup).
  await page.keyboard.press('s');
  await page.locator('#mdbook-searchbar').pressSequentially('WebSocket');
  const results = page.locator('#mdbook-searchresults li');
  await results.first().waitFor();
  assert.ok((await results.count()) > 3, 'several chapters speak of WebSockets');
  assert.match(await page.locator('#mdbook-searchresults-header').textContent(),
    /\d+ search results for 'WebSocket'/);
  // A result leads to its chapter.
  await results.first().locator('a').click();
  await page.waitForURL(/\.html/);
  assert.match(await page.locator('main').textContent(), /WebSocket/);
});

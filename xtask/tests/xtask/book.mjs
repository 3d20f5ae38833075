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
  assert.match(await diff.textContent(), /\+pub async fn index\(\) -> HttpResponse \{/);
  assert.ok((await diff.locator('.hljs-deletion').count()) > 0);
  // The code, taken by name from the step's file: the new handler whole,
  // under a caption that names it.
  await main.getByText('index, new, in src/pages.rs:').waitFor();
  const blocks = await main.locator('code.language-rust').allTextContents();
  assert.ok(
    blocks.some((block) => /^\/\/ try it: open http:\/\/localhost:5001\/.*\npub async fn index\(\)/.test(block)),
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

/** What the page shows of the diff's 100-column line, and of its layout. */
function layout(page) {
  return page.evaluate(() => {
    const code = document.querySelector('main code.language-diff');
    const line = [...code.querySelectorAll('.hljs-addition')].find((span) =>
      span.textContent.startsWith('+  socket = new WebSocket('),
    );
    const box = code.getBoundingClientRect();
    const main = document.querySelector('main');
    return {
      columns: line.textContent.trimEnd().length,
      // One rectangle per line on the screen: more than one when it wraps.
      rows: new Set([...line.getClientRects()].map((r) => Math.round(r.top))).size,
      scrolls: code.scrollWidth > code.clientWidth,
      codeRight: box.right,
      mainWidth: main.getBoundingClientRect().width,
      mainRight: main.getBoundingClientRect().right,
      // The rightmost edge of anything in the chapter, and the page's width.
      farthest: Math.max(...[...main.querySelectorAll('*')].map((e) => e.getBoundingClientRect().right)),
      pageWidth: document.scrollingElement.scrollWidth,
      viewport: window.innerWidth,
      fontSize: parseFloat(getComputedStyle(main.querySelector('p')).fontSize),
      projector: document.documentElement.classList.contains('projector'),
      pressed: document.getElementById('projector-toggle')?.getAttribute('aria-pressed'),
    };
  });
}

test('the projector mode: large type, full width, long lines wrapped, remembered', async (t) => {
  const page = await open(t, '/steps/s16/README.html');
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.locator('main code.language-diff .hljs-addition').first().waitFor();

  // Normal mode: mdBook's column; the long line scrolls within its block.
  let seen = await layout(page);
  assert.equal(seen.columns, 100);
  assert.equal(seen.projector, false);
  assert.equal(seen.pressed, 'false');
  assert.ok(seen.mainWidth <= 750, `a column of ${seen.mainWidth} px`);
  assert.ok(seen.scrolls || seen.rows > 1, 'the long line scrolls or wraps in its block');
  assert.ok(seen.codeRight <= seen.viewport, `the diff ends at ${seen.codeRight} px, past the page`);

  // Projector mode.
  await page.locator('#projector-toggle').click();
  seen = await layout(page);
  assert.equal(seen.projector, true);
  assert.equal(seen.pressed, 'true');
  assert.ok(seen.fontSize >= 22 && seen.fontSize <= 24, `text of ${seen.fontSize} px`);
  assert.ok(seen.mainWidth > 900, `the chapter is ${seen.mainWidth} px wide`);
  assert.ok(seen.mainRight > seen.viewport - 60, `the chapter ends at ${seen.mainRight} px`);
  assert.ok(seen.rows > 1, 'the 100-column line wraps');
  assert.equal(seen.scrolls, false, 'the diff does not scroll sideways');
  assert.ok(seen.farthest <= seen.viewport, `something reaches ${seen.farthest} px`);
  assert.ok(seen.pageWidth <= seen.viewport, `the page is ${seen.pageWidth} px wide`);
  await screenshot(page, 'projector');

  // The browser remembers it, on this page and the next.
  await page.reload();
  seen = await layout(page);
  assert.equal(seen.projector, true, 'still on after a reload');
  assert.equal(seen.pressed, 'true');
  await page.goto(page.url().replace('s16', 's17'));
  assert.ok(await page.evaluate(() => document.documentElement.classList.contains('projector')));

  // And off again, remembered too (the window is reused by the next check).
  await page.locator('#projector-toggle').click();
  await page.reload();
  assert.equal(await page.evaluate(() => document.documentElement.classList.contains('projector')), false);
});

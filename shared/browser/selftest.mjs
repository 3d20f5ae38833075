// Checks the harness itself: each page below breaks one rule, and `open` must
// report it (and a page that breaks none must pass). Run by the shared
// crate's tests (src/testing/browser.rs), like a step's pages.mjs.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';

const head = '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">';
const pages = {
  '/fine': `${head}<title>fine</title><p style="background: url(data:,)">fine</p>`,
  '/outside': `${head}<img src="http://example.invalid/logo.png">`,
  '/outside-websocket': `${head}<script>new WebSocket('ws://example.invalid/ws')</script>`,
  '/console-error': `${head}<script>console.error('something broke')</script>`,
  '/missing-stylesheet': `${head}<link rel="stylesheet" href="/nothing.css">`,
  '/throws': `${head}<script>null.field</script>`,
  '/unescaped': `${head}<a href="/front/messages/4"><script>alert('nickname ran')</script></a>`,
};
const server = createServer((request, response) => {
  const page = pages[request.url];
  response.writeHead(page ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
  response.end(page ?? 'not found');
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
after(() => server.close());

process.env.BASE_URL = `http://127.0.0.1:${server.address().port}`;
const { open } = await import('./harness.mjs');

/** Opens `path` as a check would, ends the check, and returns what `open` reported. */
async function reported(path) {
  const ends = [];
  const page = await open({ after: (end) => ends.push(end) }, path);
  await page.waitForTimeout(200); // let the page's late events arrive
  try {
    for (const end of ends) await end();
    return '';
  } catch (error) {
    return error.message;
  }
}

test('a page that stays on this machine without errors passes', async () => {
  assert.equal(await reported('/fine'), '');
});

test('a request to another host is reported', async () => {
  assert.match(await reported('/outside'), /requested http:\/\/example\.invalid\/logo\.png \(outside/);
});

test('a WebSocket to another host is reported', async () => {
  assert.match(await reported('/outside-websocket'), /WebSocket to ws:\/\/example\.invalid\/ws/);
});

test('a console error is reported', async () => {
  assert.match(await reported('/console-error'), /console error: something broke/);
});

test('a missing stylesheet is reported', async () => {
  assert.match(await reported('/missing-stylesheet'), /console error: .*404.*nothing\.css/);
});

test('an uncaught exception is reported', async () => {
  assert.match(await reported('/throws'), /uncaught exception: .*null/);
});

test('markup that runs is reported', async () => {
  assert.match(await reported('/unescaped'), /a dialog opened: alert\("nickname ran"\)/);
});

test('a page that does not answer 200 fails to open', async () => {
  await assert.rejects(reported('/nowhere'), /opening \/nowhere answered 404/);
});

// Checks the harness itself: each page below breaks one rule, and `open` must
// report it (and a page that breaks none must pass); inlineScriptIsRefused
// must tell a page with the steps' Content-Security-Policy from one without.
// Then the same pages are opened by checks in a nested node test run, to
// prove that what `open` reports really fails a check. Run by the shared
// crate's tests (src/testing/browser.rs), like a step's pages.mjs, or alone:
// `node --test shared/browser/selftest.mjs`.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

// The headers the steps send from s04 on.
const secured = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
};

const head = '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">';
const pages = {
  '/fine': `${head}<title>fine</title><p style="background: url(data:,)">fine</p>`,
  '/outside': `${head}<img src="http://example.invalid/logo.png">`,
  '/outside-websocket': `${head}<script>new WebSocket('ws://example.invalid/ws')</script>`,
  '/console-error': `${head}<script>console.error('something broke')</script>`,
  '/missing-stylesheet': `${head}<link rel="stylesheet" href="/nothing.css">`,
  '/throws': `${head}<script>null.field</script>`,
  '/unescaped': `${head}<a href="/front/messages/4"><script>alert('nickname ran')</script></a>`,
  // With the steps' headers: a clean page, and one whose own markup holds an
  // inline script (refused by the policy: a console error nobody provoked).
  '/secured': { headers: secured, body: `${head}<title>secured</title><p>no inline script</p>` },
  '/secured-inline': { headers: secured, body: `${head}<script>document.title = 'ran'</script>` },
  '/redirect': { status: 303, headers: { location: '/secured', 'x-redirect': 'yes' }, body: '' },
  // A 404 page of the app's own (steps 12 and later), and one that also loads
  // a missing stylesheet: only the page's own status may be expected.
  '/gone': { status: 404, body: `${head}<title>gone</title><h1>No such user</h1>` },
  '/gone-broken': { status: 404, body: `${head}<link rel="stylesheet" href="/nothing.css">` },
};
const server = createServer((request, response) => {
  const found = pages[request.url];
  const page = typeof found === 'string' ? { body: found } : found;
  response.writeHead(page ? (page.status ?? 200) : 404, {
    'content-type': 'text/html; charset=utf-8',
    ...page?.headers,
  });
  response.end(page?.body ?? 'not found');
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
after(() => server.close());

process.env.BASE_URL = `http://127.0.0.1:${server.address().port}`;
const { app, open, inlineScriptIsRefused, documentHeaders, expectConsoleErrors } = await import(
  './harness.mjs'
);

/**
 * Opens `path` as a check would, lets `act` use the page, ends the check the
 * way node's runner would (running what `open` registered with `t.after`),
 * and returns what `open` reported ('' for nothing).
 */
async function reported(path, act = async () => {}, options = {}) {
  const ends = [];
  const page = await open({ after: (end) => ends.push(end) }, path, options);
  let problems = '';
  try {
    await act(page);
    await page.waitForTimeout(200); // let the page's late events arrive
  } finally {
    for (const end of ends) await end().catch((error) => (problems = error.message));
  }
  return problems;
}

// Each check opens its own window and waits 200 ms for late events: they run
// side by side (in the one browser), not one after the other.
describe('what open reports', { concurrency: true }, () => {
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

  test('a 404 page opened with { status: 404 } passes, its own console error expected', async () => {
    assert.equal(await reported('/gone', async () => {}, { status: 404 }), '');
  });

  test('a page that does not answer the status given fails to open', async () => {
    await assert.rejects(
      reported('/fine', async () => {}, { status: 404 }),
      /opening \/fine answered 200 .*, not 404/,
    );
  });

  test('on a 404 page, another resource that fails is still reported', async () => {
    assert.match(
      await reported('/gone-broken', async () => {}, { status: 404 }),
      /nothing\.css/,
    );
  });

  test('a console error the check expects is no problem; another one still is', async () => {
    const act = async (page) => {
      expectConsoleErrors(page, /^expected:/);
      await page.evaluate(() => {
        console.error('expected: the check provoked this');
        console.error('something else broke');
      });
    };
    const problems = await reported('/fine', act);
    assert.match(problems, /something else broke/);
    assert.doesNotMatch(problems, /expected:/);
  });

  test('documentHeaders gives the headers of the page opened', async () => {
    await reported('/secured', async (page) => {
      const headers = await documentHeaders(page);
      assert.equal(headers['content-security-policy'], secured['content-security-policy']);
      assert.equal(headers['x-content-type-options'], 'nosniff');
    });
    await reported('/fine', async (page) => {
      assert.equal((await documentHeaders(page))['content-security-policy'], undefined);
    });
    await reported('/redirect', async (page) => {
      const headers = await documentHeaders(page); // the final answer's, not the redirect's
      assert.equal(headers['content-security-policy'], secured['content-security-policy']);
      assert.equal(headers['x-redirect'], undefined);
    });
  });

  test('without a Content-Security-Policy, an injected inline script runs', async () => {
    const problems = await reported('/fine', async (page) => {
      assert.equal(await inlineScriptIsRefused(page), false);
    });
    assert.equal(problems, '');
  });

  test("with the steps' Content-Security-Policy, an injected inline script is refused, and that refusal is no problem", async () => {
    const problems = await reported('/secured', async (page) => {
      assert.equal(await inlineScriptIsRefused(page), true);
      assert.equal(await inlineScriptIsRefused(page), true, 'again, on the same page');
      assert.equal(await page.title(), 'secured');
    });
    assert.equal(problems, '');
  });

  test('a console error after inlineScriptIsRefused is still reported', async () => {
    const problems = await reported('/secured', async (page) => {
      assert.equal(await inlineScriptIsRefused(page), true);
      await page.evaluate(() => console.error('something else broke'));
    });
    assert.match(problems, /console error: something else broke/);
    assert.doesNotMatch(problems, /inline script/);
  });

  test("a page's own inline script refused by its policy is reported", async () => {
    assert.match(
      await reported('/secured-inline'),
      /console error: .*inline script violates the following Content Security Policy directive/,
    );
  });
});

// The same rules, this time enforced by node's test runner itself: a nested
// run of checks written as a step writes them (`open(t, path)` with the real
// `t`), started as the Rust side starts a step's pages.mjs. Each check that
// opens a misbehaving page must FAIL, in its after-hook, with the problem.

const nestedChecks = {
  'a fine page': `await open(t, '/fine');`,
  'a console error': `await open(t, '/console-error');`,
  'a request to another host': `await open(t, '/outside');`,
  'an uncaught exception': `await open(t, '/throws');`,
  'a dialog': `await open(t, '/unescaped');`,
  'an injected script refused by the CSP': `
    const page = await open(t, '/secured');
    assert.equal(await inlineScriptIsRefused(page), true);`,
  'an injected script run without a CSP': `
    const page = await open(t, '/fine');
    assert.equal(await inlineScriptIsRefused(page), false);`,
  'another console error after the CSP refusal': `
    const page = await open(t, '/secured');
    assert.equal(await inlineScriptIsRefused(page), true);
    await page.evaluate(() => console.error('something else broke'));
    await page.waitForTimeout(200);`,
  "the page's own inline script refused by the CSP": `await open(t, '/secured-inline');`,
};

let nested; // the nested run, started below, at once

/** Each nested check's outcome: { passed, details } by name, and the run's exit code. */
function nestedRun() {
  nested ??= (async () => {
    const folder = mkdtempSync(join(tmpdir(), 'harness-selftest-'));
    const script = join(folder, 'pages.mjs');
    const harness = pathToFileURL(join(here, 'harness.mjs')).href;
    writeFileSync(
      script,
      [
        `import { test } from 'node:test';`,
        `import assert from 'node:assert/strict';`,
        `import { open, inlineScriptIsRefused } from ${JSON.stringify(harness)};`,
        ...Object.entries(nestedChecks).map(
          ([name, body]) => `test(${JSON.stringify(name)}, async (t) => {\n${body}\n});`,
        ),
      ].join('\n'),
    );
    // NODE_TEST_CONTEXT, set when this file itself runs under `node --test`,
    // would make the nested run report to a parent that is not listening.
    const { NODE_TEST_CONTEXT, ...env } = process.env;
    const { code, output } = await new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--test-reporter=tap', script],
        { env: { ...env, STEP: 'selftest' }, timeout: 120_000 },
        (error, stdout, stderr) => resolve({ code: error ? error.code : 0, output: stdout + stderr }),
      );
    });
    rmSync(folder, { recursive: true, force: true });
    return { code, output, checks: tapOutcomes(output) };
  })();
  return nested;
}

// Started now, not by the first check that needs it: it runs in a node and a
// browser of its own, beside the checks above (7.6 s -> 6.1 s in all).
nestedRun();

/** Reads node's TAP report: each top-level check's name, ok or not, and its YAML details. */
function tapOutcomes(tap) {
  const checks = new Map();
  const lines = tap.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const outcome = /^(not )?ok \d+ - (.*)$/.exec(lines[i]);
    if (!outcome) continue;
    let details = '';
    if (lines[i + 1] === '  ---') {
      for (i += 2; i < lines.length && lines[i] !== '  ...'; i++) details += `${lines[i]}\n`;
    }
    checks.set(outcome[2], { passed: !outcome[1], details });
  }
  return checks;
}

/** Asserts how the nested check `name` ended: passed, or failed in `open`'s after-hook with `message`. */
async function nestedCheck(name, message) {
  const { checks, output } = await nestedRun();
  const check = checks.get(name);
  assert.ok(check, `the nested run reported no check "${name}":\n${output}`);
  if (!message) {
    assert.ok(check.passed, `"${name}" should pass:\n${check.details}`);
    return;
  }
  assert.ok(!check.passed, `"${name}" should fail, but passed`);
  assert.match(check.details, /failureType: 'hookFailed'/, `"${name}" failed, but not in open's after-hook:\n${check.details}`);
  assert.match(check.details, message);
}

test('in a real run, the checks whose pages misbehave fail, and only them', async () => {
  const { code, output, checks } = await nestedRun();
  assert.equal(checks.size, Object.keys(nestedChecks).length, output);
  assert.equal(code, 1, `the nested run should exit with 1:\n${output}`);
});

test('in a real run, a fine page passes', async () => {
  await nestedCheck('a fine page');
});

test('in a real run, a console error fails the check', async () => {
  await nestedCheck('a console error', /while \/console-error was open:\n\s*- console error: something broke/);
});

test('in a real run, a request to another host fails the check', async () => {
  await nestedCheck('a request to another host', /requested http:\/\/example\.invalid\/logo\.png \(outside/);
});

test('in a real run, an uncaught exception fails the check', async () => {
  await nestedCheck('an uncaught exception', /uncaught exception: .*null/);
});

test('in a real run, a dialog fails the check', async () => {
  await nestedCheck('a dialog', /a dialog opened: alert\("nickname ran"\)/);
});

test('in a real run, the refusal inlineScriptIsRefused provokes passes', async () => {
  await nestedCheck('an injected script refused by the CSP');
  await nestedCheck('an injected script run without a CSP');
});

test('in a real run, another console error after the refusal still fails the check', async () => {
  await nestedCheck('another console error after the CSP refusal', /console error: something else broke/);
  const { details } = (await nestedRun()).checks.get('another console error after the CSP refusal');
  assert.doesNotMatch(details, /inline script/);
});

test("in a real run, a page's own inline script refused by the CSP fails the check", async () => {
  await nestedCheck(
    "the page's own inline script refused by the CSP",
    /console error: .*inline script violates the following Content Security Policy directive/,
  );
});

test('app.control asks the Rust side: a command it knows is done, another fails saying why', async () => {
  assert.equal(await app.control('echo'), 'echoed');
  await assert.rejects(app.control('no such command'), /no command "no such command" here/);
});

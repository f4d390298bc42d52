import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ReplayGuard, signedHeaders, verifyWebhook } from '../../webhooks/signing.js';
import { FaultStack } from './harness.js';
import { ensureSchemathesis, runSchemathesis } from './schemathesis.js';

// Examples per operation. The request count grows with the API's operations and varies between runs by several
// hundred (with how many generated bodies the schemas refuse); 10,000 is the floor the case asserts, and the fuzz's
// time follows the count (at 450, 28,553 requests took about 20 minutes on 2 cores).
const FUZZ_MAX_EXAMPLES = Number(process.env.FUZZ_MAX_EXAMPLES ?? 250);
const FUZZ_MIN_REQUESTS = 10_000;

/** Requests the API answered, by status, from its own request histogram. */
async function answeredByStatus(stack: FaultStack): Promise<Map<string, number>> {
  // /metrics is for the scrape token or an admin key.
  const headers = { authorization: `Bearer ${stack.adminKey}` };
  const text = await (await fetch(`${stack.apiUrl}/metrics`, { headers })).text();
  const counts = new Map<string, number>();
  for (const match of text.matchAll(
    /^wa_api_http_request_duration_seconds_count\{[^}]*status="(\d+)"[^}]*\} (\d+)/gm,
  )) {
    counts.set(match[1] as string, (counts.get(match[1] as string) ?? 0) + Number(match[2]));
  }
  return counts;
}

/**
 * The API's log lines about the requests it failed: error level (a 500), and the warnings that name the dependency a
 * 503 could not reach, with the call that waited (CI keeps no files).
 */
async function apiErrorLines(stack: FaultStack): Promise<string> {
  const logs = (await readdir(stack.dataDir)).filter((name) => /^api-\d+\.log$/.test(name));
  const lines = await Promise.all(
    logs.map(async (name) =>
      (await readFile(join(stack.dataDir, name), 'utf8'))
        .split('\n')
        .filter((line) => /"level":(50|60)/.test(line) || /"level":40.*"dependency"/.test(line)),
    ),
  );
  return lines
    .flat()
    .slice(-20)
    .map((line) => line.slice(0, 3_000))
    .join('\n');
}

describe('fault 6: bad input', { timeout: 1_800_000 }, () => {
  let stack: FaultStack;
  before(async () => {
    stack = await FaultStack.start('bad-input');
  });
  after(async () => {
    await stack?.stop();
  });

  it(`≥ ${FUZZ_MIN_REQUESTS} requests generated from the OpenAPI document: no 5xx, no process crashed`, async () => {
    const cli = await ensureSchemathesis();
    const reportDir = join(stack.dataDir, 'schemathesis');
    await mkdir(reportDir, { recursive: true });
    const fuzz = (phases: string, workers: number) =>
      runSchemathesis(
        cli,
        [
          'run',
          `${stack.apiUrl}/docs/json`,
          '--url',
          stack.apiUrl,
          '--phases',
          phases,
          '--checks',
          'not_a_server_error',
          '--max-examples',
          String(FUZZ_MAX_EXAMPLES),
          '--workers',
          String(workers),
          '--seed',
          '20261124',
          '--request-timeout',
          '30',
          '--suppress-health-check',
          'all',
          '--continue-on-failure',
          '-H',
          `Authorization: Bearer ${stack.adminKey}`,
          '--report',
          'junit',
          '--report-dir',
          reportDir,
        ],
        reportDir,
      );
    // The coverage phase (boundary and wrong-type values for every parameter) runs on one worker: on several, the
    // fuzzer itself sometimes fails with a KeyError in a cache Hypothesis shares between its threads.
    const coverage = await fuzz('examples,coverage', 1);
    const generated = await fuzz('fuzzing,stateful', 4);
    const code = coverage.code || generated.code;
    const output = `${coverage.output.slice(-2_000)}\n${generated.output}`;
    const answered = await answeredByStatus(stack);
    const total = [...answered.values()].reduce((sum, n) => sum + n, 0);
    const serverErrors = [...answered].filter(([status]) => status.startsWith('5')).reduce((sum, [, n]) => sum + n, 0);
    process.stderr.write(`fuzz: ${total} requests answered: ${JSON.stringify(Object.fromEntries(answered))}\n`);
    assert.equal(
      serverErrors,
      0,
      `no 5xx (${JSON.stringify(Object.fromEntries(answered))})\nwhat the API logged about them:\n${await apiErrorLines(stack)}`,
    );
    assert.equal(code, 0, `schemathesis found failures:\n${output.slice(-4_000)}`);
    assert.ok(total >= FUZZ_MIN_REQUESTS, `at least ${FUZZ_MIN_REQUESTS} requests (${total})`);
    assert.deepEqual(stack.alive(), { worker: true, api: true }, 'no process crashed');
    assert.equal((await fetch(`${stack.apiUrl}/ready`)).status, 200);
  });

  it('oversized bodies, wrong content types, invalid phone numbers and session ids: clear problems, nothing stored', async () => {
    const send = async (path: string, body: string, contentType = 'application/json') => {
      const response = await fetch(`${stack.apiUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.adminKey}`, 'content-type': contentType },
        body,
      });
      const text = await response.text();
      assert.match(response.headers.get('content-type') ?? '', /application\/problem\+json/, text);
      assert.doesNotMatch(text, /\bat [^ ]+ \(|node_modules/, 'no stack trace');
      return { status: response.status, problem: JSON.parse(text) as { code: string; status: number } };
    };
    const accounts = '/v1/workspaces/fuzz-hand/accounts';
    const oversized = await send(accounts, JSON.stringify({ sessionId: 'big', padding: 'x'.repeat(2 * 1024 * 1024) }));
    assert.equal(oversized.status, 413);
    assert.equal(oversized.problem.code, 'fst_err_ctp_body_too_large');
    const xml = await send(accounts, '<sessionId>x</sessionId>', 'application/xml');
    assert.equal(xml.status, 415);
    const form = await send(accounts, 'sessionId=x', 'application/x-www-form-urlencoded');
    assert.equal(form.status, 415);
    for (const sessionId of ['', 'a b', '../../etc/passwd', 'x'.repeat(101), 'ümlaut', 'semi;colon']) {
      const invalid = await send(accounts, JSON.stringify({ sessionId }));
      assert.equal(invalid.status, 400, sessionId);
      assert.equal(invalid.problem.code, 'validation_failed', sessionId);
    }
    const created = await fetch(`${stack.apiUrl}${accounts}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sessionId: 'hand-ok' }),
    });
    assert.equal(created.status, 201);
    for (const phoneNumber of ['', '+', '0812345678', '12', '1'.repeat(16), '+62 811-801-641 ext', 'phone']) {
      const invalid = await send(`${accounts}/hand-ok/pairing-code`, JSON.stringify({ phoneNumber }));
      assert.equal(invalid.status, 400, phoneNumber);
      assert.equal(invalid.problem.code, 'validation_failed', phoneNumber);
    }
    const list = await fetch(`${stack.apiUrl}${accounts}`, { headers: { authorization: `Bearer ${stack.adminKey}` } });
    const listed = (await list.json()) as { items: { sessionId: string }[] };
    assert.deepEqual(
      listed.items.map((account) => account.sessionId),
      ['hand-ok'],
      'only the valid request stored anything',
    );
  });

  it('the webhook verifier refuses replayed and expired signatures', () => {
    const secret = `whsec_${crypto.randomBytes(32).toString('base64')}`;
    const body = JSON.stringify({ event: 'session_ready', eventId: 7 });
    const now = Math.floor(Date.now() / 1000);
    const guard = new ReplayGuard();
    const headers = signedHeaders(secret, 'evt_7', now, body);
    assert.deepEqual(verifyWebhook({ headers, rawBody: body, secret, replayGuard: guard, nowSeconds: now }), {
      ok: true,
      scheme: 'legacy',
    });
    assert.deepEqual(verifyWebhook({ headers, rawBody: body, secret, replayGuard: guard, nowSeconds: now + 1 }), {
      ok: false,
      reason: 'replayed',
    });
    const expired = signedHeaders(secret, 'evt_8', now - 3_600, body);
    assert.deepEqual(verifyWebhook({ headers: expired, rawBody: body, secret, replayGuard: guard, nowSeconds: now }), {
      ok: false,
      reason: 'expired',
    });
  });
});

import assert from 'node:assert/strict';
import { sql } from 'slonik';
import { z } from 'zod';
import { canMoveTo, isAccountStatus, type AccountStatus } from '../../domain/account-status.js';
import { EVENTS_NOT_SENT_AS_WEBHOOKS } from '../../domain/webhook-events.js';
import { until, type FaultStack } from './harness.js';
import type { WebhookReceiver } from './webhook-receiver.js';

/** The common start of the fault cases: a workspace whose events go to `receiver`, and its accounts showing a QR. */
export async function accountsShowingQr(
  fault: { stack: FaultStack; receiver: WebhookReceiver },
  workspaceId: string,
  count: number,
  prefix: string,
): Promise<Map<string, string>> {
  await workspaceWithWebhook(fault.stack, workspaceId, fault.receiver);
  const accounts = await createAccounts(fault.stack, workspaceId, count, prefix);
  await waitForQrs(fault.stack, workspaceId, accounts.size);
  return accounts;
}

/** Waits until some accounts are connected: the fault strikes while the others still are being connected. */
export async function firstConnections(stack: FaultStack, workspaceId: string, atLeast: number): Promise<void> {
  await until(
    async () => (await countWhere(stack, workspaceId, 'connected')) >= atLeast,
    120_000,
    'the first connections',
  );
}

/** A workspace whose events go to `receiver`. */
export async function workspaceWithWebhook(
  stack: FaultStack,
  workspaceId: string,
  receiver: WebhookReceiver,
): Promise<void> {
  const { status, json } = await stack.http('PUT', `/v1/workspaces/${workspaceId}/webhook`, {
    webhookUrl: receiver.url,
  });
  assert.equal(status, 200, JSON.stringify(json));
  receiver.secret = String(json.webhookSecret);
}

/** A request a backend would repeat until it is answered: an outage in the middle is not a reason to give up. */
async function persistently(
  stack: FaultStack,
  what: string,
  send: () => Promise<{ status: number; json: Record<string, unknown> }>,
  accept: (status: number, json: Record<string, unknown>) => boolean,
) {
  return until(
    async () => {
      const result = await send().catch(() => null);
      if (result && accept(result.status, result.json)) return result;
      if (result && result.status < 500 && result.status !== 429)
        throw new Error(`${what}: ${result.status} ${JSON.stringify(result.json)}`);
      return undefined;
    },
    180_000,
    what,
  );
}

export function phoneFor(index: number, base = 628120000000): string {
  return String(base + index);
}

/** Creates the accounts (a few requests at a time, as backends do), each with the phone that will scan it. */
export async function createAccounts(
  stack: FaultStack,
  workspaceId: string,
  count: number,
  prefix: string,
): Promise<Map<string, string>> {
  const accounts = new Map<string, string>();
  for (let i = 0; i < count; i += 1) accounts.set(`${prefix}-${i}`, phoneFor(i));
  const ids = [...accounts.keys()];
  for (let i = 0; i < ids.length; i += 10) {
    await Promise.all(
      ids.slice(i, i + 10).map((sessionId) =>
        persistently(
          stack,
          `create ${sessionId}`,
          () => stack.http('POST', `/v1/workspaces/${workspaceId}/accounts`, { sessionId }),
          (status) => status === 201 || status === 200,
        ),
      ),
    );
  }
  return accounts;
}

export async function countWhere(
  stack: FaultStack,
  workspaceId: string,
  condition: 'qr' | 'connected',
): Promise<number> {
  const predicate = condition === 'qr' ? sql.fragment`last_qr IS NOT NULL` : sql.fragment`status = 'connected'`;
  return stack.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
    SELECT count(*)::int8 AS n FROM whatsapp_accounts WHERE workspace_id = ${workspaceId} AND deleted_at IS NULL AND ${predicate}
  `);
}

export async function waitForQrs(
  stack: FaultStack,
  workspaceId: string,
  count: number,
  timeoutMs = 120_000,
): Promise<void> {
  await until(
    async () => (await countWhere(stack, workspaceId, 'qr')) >= count,
    timeoutMs,
    `${count} accounts showing a QR`,
  );
}

/**
 * The phone side: each account's phone scans its QR (through the simulator's control API, as a demo does). Retried
 * while the stack answers 5xx or not at all. Two answers mean there is nothing to scan right now, as a user holding
 * the phone would see it: no process holds the session (it died with a worker; `connectAll` scans again once a new
 * QR shows), or the session shows no QR (it logged back in from its saved login, or was scanned already).
 */
export async function scan(
  stack: FaultStack,
  accounts: Map<string, string>,
  sessionIds: readonly string[] = [...accounts.keys()],
): Promise<void> {
  const nothingToScan = new Set(['no_simulated_session', 'not_showing_qr']);
  for (let i = 0; i < sessionIds.length; i += 10) {
    await Promise.all(
      sessionIds.slice(i, i + 10).map((sessionId) =>
        persistently(
          stack,
          `scan ${sessionId}`,
          () => stack.http('POST', `/v1/simulator/sessions/${sessionId}/scan`, { phone: accounts.get(sessionId) }),
          (status, json) =>
            (status >= 200 && status < 300) ||
            ((status === 404 || status === 409) && nothingToScan.has(String(json.code))),
        ),
      ),
    );
  }
}

export async function waitAllConnected(
  stack: FaultStack,
  workspaceId: string,
  count: number,
  timeoutMs: number,
): Promise<void> {
  await until(
    async () => (await countWhere(stack, workspaceId, 'connected')) >= count,
    timeoutMs,
    `${count} accounts connected`,
  );
}

/** Accounts still waiting for a scan (their phone's scan was lost with the process that held the session). */
export async function stillScanning(stack: FaultStack, workspaceId: string): Promise<string[]> {
  return [
    ...(await stack.pool.anyFirst(sql.type(z.object({ session_id: z.string() }))`
    SELECT session_id FROM whatsapp_accounts WHERE workspace_id = ${workspaceId} AND deleted_at IS NULL AND status = 'qr_scanning' AND last_qr IS NOT NULL
  `)),
  ];
}

/**
 * What every case proves at the end: each account reached `connected` with its own phone through the whole status
 * flow (no transition lost), no account ever went backwards, no phone is live twice, and, with a receiver, every
 * webhook event was delivered at least once and recorded as delivered.
 */
export async function assertInvariants(
  stack: FaultStack,
  workspaceId: string,
  accounts: Map<string, string>,
  receiver?: WebhookReceiver,
  webhookTimeoutMs = 120_000,
): Promise<void> {
  const rows = await stack.pool.any(sql.type(
    z.object({ session_id: z.string(), status: z.string(), phone_number: z.string().nullable() }),
  )`
    SELECT session_id, status, phone_number FROM whatsapp_accounts WHERE workspace_id = ${workspaceId} AND deleted_at IS NULL
  `);
  const bySession = new Map(rows.map((row) => [row.session_id, row]));
  for (const [sessionId, phone] of accounts) {
    const row = bySession.get(sessionId);
    assert.ok(row, `${sessionId} has a row`);
    assert.equal(row.status, 'connected', `${sessionId} is connected`);
    assert.equal(row.phone_number, phone, `${sessionId} carries its own phone`);
  }

  const events = await stack.pool.any(sql.type(
    z.object({ id: z.number(), session_id: z.string(), type: z.string(), status: z.string().nullable() }),
  )`
    SELECT id, session_id, type, status FROM account_events WHERE workspace_id = ${workspaceId} ORDER BY id
  `);
  const flows = new Map<string, AccountStatus[]>();
  for (const event of events) {
    if (!event.status || !isAccountStatus(event.status)) continue;
    const flow = flows.get(event.session_id) ?? [];
    flow.push(event.status);
    flows.set(event.session_id, flow);
  }
  for (const sessionId of accounts.keys()) {
    const flow = flows.get(sessionId) ?? [];
    assert.equal(flow[0], 'qr_scanning', `${sessionId} starts in qr_scanning: ${flow.join(' → ')}`);
    assert.ok(
      flow.includes('authenticated') && flow.at(-1) === 'connected',
      `${sessionId} went through authenticated to connected: ${flow.join(' → ')}`,
    );
    for (let i = 1; i < flow.length; i += 1) {
      const from = flow[i - 1] as AccountStatus;
      const to = flow[i] as AccountStatus;
      assert.ok(canMoveTo(from, to), `${sessionId} never goes backwards: ${flow.join(' → ')}`);
    }
  }

  const livePhonesTwice = await stack.pool.anyFirst(sql.type(z.object({ phone_number: z.string() }))`
    SELECT phone_number FROM whatsapp_accounts
    WHERE workspace_id = ${workspaceId} AND deleted_at IS NULL AND status = 'connected' AND phone_number IS NOT NULL
    GROUP BY phone_number HAVING count(*) > 1
  `);
  assert.deepEqual(livePhonesTwice, [], 'no phone is live twice in the workspace');

  if (!receiver) return;
  const webhookEventIds = events
    .filter((event) => !EVENTS_NOT_SENT_AS_WEBHOOKS.includes(event.type))
    .map((event) => event.id);
  assert.ok(webhookEventIds.length >= accounts.size * 3, `status events exist (${webhookEventIds.length})`);
  const missing = () => webhookEventIds.filter((id) => !receiver.accepted.has(`evt_${id}`));
  await until(async () => missing().length === 0, webhookTimeoutMs, 'every webhook event delivered').catch(
    (error: Error) => {
      throw new Error(
        `${error.message}; ${missing().length} of ${webhookEventIds.length} missing, e.g. ${missing().slice(0, 5).join(', ')}`,
      );
    },
  );
  // A receiver may have an event before its attempt is recorded: a worker killed between the answer and the record
  // leaves the attempt to time out, and the next attempt records it.
  const unrecorded = async () => {
    const recorded = new Set(
      await stack.pool.anyFirst(sql.type(z.object({ event_id: z.number() }))`
        SELECT DISTINCT event_id FROM webhook_deliveries WHERE workspace_id = ${workspaceId} AND delivered
      `),
    );
    return webhookEventIds.filter((id) => !recorded.has(id));
  };
  await until(async () => (await unrecorded()).length === 0, webhookTimeoutMs, 'every delivery recorded').catch(
    async () => assert.deepEqual(await unrecorded(), [], 'every delivery is recorded as delivered'),
  );
  assert.equal(receiver.badSignatures, 0, 'every delivery carried a valid signature');
}

/**
 * Waits until every account is connected. A scan the phone made while no process held the account's session is
 * gone with it (the session shows a new QR), so the phone scans again what is still waiting, as its user would.
 */
export async function connectAll(
  stack: FaultStack,
  workspaceId: string,
  accounts: Map<string, string>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await countWhere(stack, workspaceId, 'connected')) < accounts.size) {
    if (Date.now() > deadline) {
      throw new Error(
        `only ${await countWhere(stack, workspaceId, 'connected')} of ${accounts.size} accounts connected after ${timeoutMs} ms: ${JSON.stringify(await statusBreakdown(stack, workspaceId))}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    const waiting = await stillScanning(stack, workspaceId).catch(() => []);
    if (waiting.length > 0) await scan(stack, accounts, waiting);
  }
}

/** Where the accounts are, for a failure message. */
export async function statusBreakdown(stack: FaultStack, workspaceId: string) {
  return stack.pool.any(sql.type(
    z.object({ status: z.string(), failure_reason: z.string().nullable(), n: z.number() }),
  )`
    SELECT status, failure_reason, count(*)::int8 AS n FROM whatsapp_accounts WHERE workspace_id = ${workspaceId} GROUP BY 1, 2 ORDER BY 3 DESC
  `);
}

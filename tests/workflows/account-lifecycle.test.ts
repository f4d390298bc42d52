import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { sql } from 'slonik';
import { z } from 'zod';
import { listAccountEvents } from '../../db/account-events.js';
import { accountStateQuery, deleteAccountSignal, signalAccount } from '../../workflows/messages.js';
import { accountStatusKey } from '../../workflows/search-attributes.js';
import { randomPhone } from '../helpers/accounts.js';
import { testStackEnv } from '../helpers/context.js';
import { useSimulatedWorkerStack } from '../helpers/worker-process.js';

describe(
  'account lifecycle (real Temporal, real PostgreSQL, simulated engine in a real worker process)',
  { timeout: 240_000 },
  () => {
    const stack = useSimulatedWorkerStack();

    it('happy path: QR, scan, authenticated, connected with phone and primary, events in order, no QR kept', async () => {
      const { sessionId, workspaceId, handle } = await stack.accounts.create();
      const scanning = await stack.accounts.showingQr(sessionId);
      assert.equal(scanning.status, 'qr_scanning');
      const phone = randomPhone();
      await stack.accounts.phone(sessionId, 'scan', { phone, pushName: 'Toko Maju' });
      const row = await stack.accounts.rowWithStatus(sessionId, 'connected');
      assert.equal(row.phone_number, phone);
      assert.equal(row.push_name, 'Toko Maju');
      assert.equal(row.is_primary, true);
      assert.ok(row.last_connected_at);
      assert.equal(row.last_qr, null, 'the row forgets the QR once it is scanned');
      const codesKept = (await listAccountEvents(stack.pool, workspaceId, sessionId)).filter(
        (e) => 'qr' in e.data || 'code' in e.data,
      );
      assert.deepEqual(codesKept, [], 'the event log keeps that a QR was shown, not the QR');

      const types = (await stack.accounts.eventTypes(sessionId)).filter((type) => type !== 'qr');
      assert.deepEqual(types, ['session_created', 'engine_starting', 'authenticated', 'session_ready']);
      assert.deepEqual(await stack.accounts.statusHistory(sessionId), ['qr_scanning', 'authenticated', 'connected']);
      const state = await handle.query(accountStateQuery);
      assert.equal(state.status, 'connected');
      assert.equal(state.phoneNumber, phone);
      assert.equal((await handle.describe()).typedSearchAttributes.get(accountStatusKey), 'connected');

      // Keep this run's history: the replay test replays a recorded one so a non-deterministic change fails CI.
      const history = await handle.fetchHistory();
      await mkdir(testStackEnv().outputDir, { recursive: true });
      await writeFile(join(testStackEnv().outputDir, 'happy-path-history.json'), historyToJSON(history));
      await signalAccount(handle, deleteAccountSignal);
      await handle.result();
    });

    it('incident 2/8: 20 accounts of one workspace scanned by the same phone at once leave one live row, no constraint error', async () => {
      const workspaceId = `ws-samephone-${Date.now()}`;
      const created = await Promise.all(Array.from({ length: 20 }, () => stack.accounts.create({ workspaceId })));
      await Promise.all(created.map(({ sessionId }) => stack.accounts.showingQr(sessionId)));
      const phone = randomPhone();
      await Promise.all(created.map(({ sessionId }) => stack.accounts.phone(sessionId, 'scan', { phone })));
      // Every workflow ends up connected or superseded; exactly one live row holds the phone.
      await Promise.all(
        created.map(({ sessionId }) =>
          stack.accounts.rowWhere(
            sessionId,
            (row) => row.status === 'connected' || row.status === 'failed',
            'connected or released',
            60_000,
          ),
        ),
      );
      const live = await stack.pool.any(sql.type(
        z.object({ session_id: z.string(), status: z.string(), is_primary: z.boolean() }),
      )`
      SELECT session_id, status, is_primary FROM whatsapp_accounts WHERE workspace_id = ${workspaceId} AND phone_number = ${phone} AND deleted_at IS NULL
    `);
      assert.equal(live.length, 1, 'one live row for the phone');
      assert.equal(live[0]?.status, 'connected');
      assert.equal(live[0]?.is_primary, true);
      const released = await stack.pool.any(sql.type(
        z.object({ phone_number: z.string().nullable(), status: z.string(), deleted: z.boolean() }),
      )`
      SELECT phone_number, status, deleted_at IS NOT NULL AS deleted FROM whatsapp_accounts WHERE workspace_id = ${workspaceId} AND session_id <> ${live[0]?.session_id ?? ''}
    `);
      assert.equal(released.length, 19);
      for (const row of released) assert.deepEqual(row, { phone_number: null, status: 'failed', deleted: true });
      const primaries = await stack.pool.oneFirst(
        sql.type(
          z.object({ count: z.number() }),
        )`SELECT count(*)::int AS count FROM whatsapp_accounts WHERE workspace_id = ${workspaceId} AND is_primary`,
      );
      assert.equal(primaries, 1);
      const workerLog = await readFile(stack.workerLogFile, 'utf8');
      assert.doesNotMatch(
        workerLog,
        /IntegrityConstraintViolation|violates unique constraint|duplicate key/i,
        'no constraint error anywhere',
      );
    });

    it('incident 5: 20 first accounts connecting at once give exactly one primary, handed over when it logs out', async () => {
      const workspaceId = `ws-primary-${Date.now()}`;
      const created = await Promise.all(Array.from({ length: 20 }, () => stack.accounts.create({ workspaceId })));
      await Promise.all(created.map(({ sessionId }) => stack.accounts.showingQr(sessionId)));
      await Promise.all(
        created.map(({ sessionId }) => stack.accounts.phone(sessionId, 'scan', { phone: randomPhone() })),
      );
      const rows = await Promise.all(
        created.map(({ sessionId }) => stack.accounts.rowWithStatus(sessionId, 'connected', 60_000)),
      );
      const primaries = rows.filter((row) => row.is_primary);
      assert.equal(primaries.length, 1, 'exactly one primary');
      const primary = primaries[0]!;

      // created_at has microseconds in the database and milliseconds here: let the database say which is oldest.
      const oldestOther = await stack.pool.oneFirst(sql.type(z.object({ session_id: z.string() }))`
      SELECT session_id FROM whatsapp_accounts
      WHERE workspace_id = ${workspaceId} AND status = 'connected' AND deleted_at IS NULL AND session_id <> ${primary.session_id}
      ORDER BY created_at, id LIMIT 1
    `);
      await stack.accounts.phone(primary.session_id, 'unlink');
      const loggedOut = await stack.accounts.rowWhere(
        primary.session_id,
        (row) => row.status === 'disconnected' && !row.is_primary,
        'logged out, no longer primary',
      );
      assert.equal(loggedOut.failure_reason, 'logged_out_from_phone');
      await stack.accounts.rowWhere(
        oldestOther,
        (row) => row.is_primary,
        'the oldest other connected account became primary',
      );
      assert.equal(await stack.accounts.hasAuth(primary.session_id), false, 'a logout removes the saved auth');
    });

    it('incident 1/6: a slow ready and an own number that lags behind still end connected with the phone', async () => {
      const { sessionId } = await stack.accounts.create();
      await stack.accounts.showingQr(sessionId);
      const phone = randomPhone();
      await stack.accounts.phone(sessionId, 'scan', { phone, readyDelayMs: 20_000, identityMissingLookups: 6 });
      const authenticated = await stack.accounts.rowWithStatus(sessionId, 'authenticated');
      assert.equal(authenticated.phone_number, null);
      const row = await stack.accounts.rowWithStatus(sessionId, 'connected');
      assert.equal(row.phone_number, phone);
    });

    it('ready that never comes after the scan: the session restarts once from the saved login and connects', async () => {
      const { sessionId, handle } = await stack.accounts.create({ timings: { readyTimeoutMs: 1_500 } });
      await stack.accounts.showingQr(sessionId);
      const phone = randomPhone();
      await stack.accounts.phone(sessionId, 'scan', { phone, neverReady: true });
      await stack.accounts.rowWithStatus(sessionId, 'authenticated');
      // The first client never turns ready; the restarted one logs in from the saved login and does.
      const row = await stack.accounts.rowWithStatus(sessionId, 'connected', 30_000);
      assert.equal(row.phone_number, phone);
      assert.equal((await handle.query(accountStateQuery)).generation, 2, 'restarted exactly once');
      assert.equal((await stack.accounts.eventTypes(sessionId)).filter((type) => type === 'qr').length, 1, 'no new QR');
      await signalAccount(handle, deleteAccountSignal);
      await handle.result();
    });

    it('an @lid own id is resolved to the phone number', async () => {
      const { sessionId } = await stack.accounts.create();
      await stack.accounts.showingQr(sessionId);
      const phone = randomPhone();
      await stack.accounts.phone(sessionId, 'scan', { phone, lid: 'resolvable' });
      assert.equal((await stack.accounts.rowWithStatus(sessionId, 'connected')).phone_number, phone);
    });

    it('phone extraction that never succeeds fails the account with a reason, never connected without a phone', async () => {
      const unresolvable = await stack.accounts.create();
      const missing = await stack.accounts.create({ timings: { phoneExtractionBudgetMs: 2_000 } });
      await Promise.all([
        stack.accounts.showingQr(unresolvable.sessionId),
        stack.accounts.showingQr(missing.sessionId),
      ]);
      await stack.accounts.phone(unresolvable.sessionId, 'scan', { phone: randomPhone(), lid: 'unresolvable' });
      await stack.accounts.phone(missing.sessionId, 'scan', {
        phone: randomPhone(),
        identityMissingLookups: 1_000_000,
      });
      const a = await stack.accounts.rowWithStatus(unresolvable.sessionId, 'failed');
      const b = await stack.accounts.rowWithStatus(missing.sessionId, 'failed');
      assert.equal(a.failure_reason, 'phone_extraction_failed:PhoneUnresolvable');
      assert.match(b.failure_reason ?? '', /^phone_extraction_failed:/);
      for (const row of [a, b]) {
        assert.equal(row.phone_number, null);
        assert.ok(!(await stack.accounts.statusHistory(row.session_id)).includes('connected'), 'never connected');
      }
    });

    it('reconnects after a transient drop without a new scan', async () => {
      const { sessionId } = await stack.accounts.create();
      await stack.accounts.showingQr(sessionId);
      const phone = randomPhone();
      await stack.accounts.phone(sessionId, 'scan', { phone });
      const before = await stack.accounts.rowWithStatus(sessionId, 'connected');
      const qrsBefore = (await stack.accounts.eventTypes(sessionId)).filter((type) => type === 'qr').length;
      await stack.accounts.phone(sessionId, 'drop');
      await stack.accounts.reconnected(sessionId);
      const row = await stack.accounts.rowWithStatus(sessionId, 'connected');
      assert.equal(row.phone_number, phone);
      assert.ok((row.last_connected_at ?? 0) > (before.last_connected_at ?? 0), 'connected again after the drop');
      assert.equal(
        (await stack.accounts.eventTypes(sessionId)).filter((type) => type === 'qr').length,
        qrsBefore,
        'no new QR',
      );
      assert.equal(await stack.accounts.hasAuth(sessionId), true, 'a transient drop keeps the saved auth');
    });

    it('a conflict keeps the auth and reconnects; a ban fails the account', async () => {
      const conflicted = await stack.accounts.create();
      const banned = await stack.accounts.create();
      await Promise.all([stack.accounts.showingQr(conflicted.sessionId), stack.accounts.showingQr(banned.sessionId)]);
      await stack.accounts.phone(conflicted.sessionId, 'scan', { phone: randomPhone() });
      await stack.accounts.phone(banned.sessionId, 'scan', { phone: randomPhone() });
      await Promise.all([
        stack.accounts.rowWithStatus(conflicted.sessionId, 'connected'),
        stack.accounts.rowWithStatus(banned.sessionId, 'connected'),
      ]);
      await stack.accounts.phone(conflicted.sessionId, 'conflict');
      await stack.accounts.phone(banned.sessionId, 'ban');
      await stack.accounts.reconnected(conflicted.sessionId);
      const failed = await stack.accounts.rowWithStatus(banned.sessionId, 'failed');
      assert.equal(failed.failure_reason, 'banned:TOS_BLOCK');
      assert.equal(await stack.accounts.hasAuth(banned.sessionId), false);
      assert.equal(await stack.accounts.hasAuth(conflicted.sessionId), true);
      await banned.handle.result();
    });

    it('an unscanned QR expires: failed with qr_expired', async () => {
      const { sessionId, handle } = await stack.accounts.create({ timings: { qrExpiryMs: 1_500 } });
      const row = await stack.accounts.rowWithStatus(sessionId, 'failed');
      assert.equal(row.failure_reason, 'qr_expired');
      assert.equal((await handle.result()).status, 'failed');
    });

    it('delete while scanning soft-deletes the row and ends the workflow', async () => {
      const { sessionId, handle } = await stack.accounts.create();
      await stack.accounts.showingQr(sessionId);
      await signalAccount(handle, deleteAccountSignal);
      await handle.result();
      const row = await stack.accounts.row(sessionId);
      assert.ok(row?.deleted_at, 'soft-deleted');
      assert.equal(row?.status, 'failed');
      assert.equal(row?.failure_reason, 'deleted');
    });

    it('a pairing-code login connects without a QR', async () => {
      const phone = randomPhone();
      const { sessionId } = await stack.accounts.create({ pairingPhoneNumber: phone });
      const row = await stack.accounts.rowWhere(sessionId, (r) => r.pairing_code !== null, 'a pairing code');
      assert.match(row.pairing_code ?? '', /^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
      await stack.accounts.phone(sessionId, 'enter_code', { code: row.pairing_code });
      assert.equal((await stack.accounts.rowWithStatus(sessionId, 'connected')).phone_number, phone);
    });

    it('continue-as-new keeps the state and loses no signal', async () => {
      const { sessionId, handle } = await stack.accounts.create({ continueAsNewAfterEvents: 2 });
      const firstRunId = (await handle.describe()).runId;
      await stack.accounts.showingQr(sessionId);
      const phone = randomPhone();
      await stack.accounts.phone(sessionId, 'scan', { phone });
      await stack.accounts.rowWithStatus(sessionId, 'connected');
      await stack.accounts.phone(sessionId, 'drop');
      await stack.accounts.reconnected(sessionId);
      const latest = await handle.describe();
      assert.notEqual(latest.runId, firstRunId, 'the workflow continued as new');
      const state = await handle.query(accountStateQuery);
      assert.equal(state.status, 'connected');
      assert.equal(state.phoneNumber, phone);
      await signalAccount(handle, deleteAccountSignal);
      assert.equal((await handle.result()).ended, true);
    });
  },
);

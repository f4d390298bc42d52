import type { StoredProxy } from '../../db/proxy-settings.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { createAccount } from '../../api/create-account.js';
import { listAccountEvents } from '../../db/account-events.js';
import { accountsWithSessionId, type AccountRow } from '../../db/accounts.js';
import { submitPhoneAction, type PhoneAction } from '../../engine/phone/actions.js';
import type { AccountStatus } from '../../domain/account-status.js';
import { accountSettingsFile, type AccountOverrides } from '../../config/account-settings.js';
import type { AccountTimings } from '../../domain/account-timings.js';
import { accountWorkflowId } from '../../workflows/ids.js';
import { sessionKey } from '../../domain/session-key.js';
import { eventually, testStackEnv, uniqueId } from './context.js';

/** Test timings, every test worker's ACCOUNT_TIMINGS: fast reconnects, a dead host noticed in seconds. */
export const FAST_TIMINGS: Partial<AccountTimings> = {
  qrExpiryMs: 120_000,
  readyTimeoutMs: 20_000,
  hostScheduleToStartMs: 5_000,
  hostHeartbeatTimeoutMs: 3_000,
  phoneExtractionBudgetMs: 20_000,
  reconnectBaseDelayMs: 100,
  reconnectMaxDelayMs: 1_000,
  // Every step of a move between hosts is written, for the tests that follow one; a quiet move is tested on its own.
  hostMoveQuietMs: 0,
};

/**
 * Where a test worker on this task queue finds the settings an account has of its own (its ACCOUNT_SETTINGS_DIR):
 * a test that needs one account to expire or give up sooner writes them before the account starts.
 */
export function accountSettingsDir(taskQueue: string): string {
  return join(testStackEnv().dataDir, 'account-settings', taskQueue);
}

/** The simulated engine at 1/20 of WhatsApp Web's pace. */
export const FAST_SIMULATOR_ENV = { WA_ENGINE: 'simulated', SIM_TIME_SCALE: '0.05' };

export class AccountDriver {
  constructor(
    readonly pool: DatabasePool,
    readonly client: Client,
    readonly taskQueue: string,
  ) {}

  /** Starts an account; its own timings or continue-as-new pace reach the worker through its settings file. */
  async create(
    options: {
      workspaceId?: string;
      sessionId?: string;
      timings?: Partial<AccountTimings>;
      pairingPhoneNumber?: string;
      continueAsNewAfterEvents?: number;
      /** What the client announces to the phone ("Linked devices"). */
      deviceName?: string;
      browserName?: string;
      /** Its own proxy, as the API stores it (credentials sealed): db/proxy-settings.ts storedProxy. */
      proxy?: StoredProxy;
    } = {},
  ) {
    const workspaceId = options.workspaceId ?? uniqueId('ws');
    const sessionId = options.sessionId ?? uniqueId('sess');
    const own: AccountOverrides = {
      ...(options.timings ? { timings: options.timings } : {}),
      ...(options.continueAsNewAfterEvents !== undefined
        ? { continueAsNewAfterEvents: options.continueAsNewAfterEvents }
        : {}),
    };
    if (Object.keys(own).length > 0) {
      const directory = accountSettingsDir(this.taskQueue);
      await mkdir(directory, { recursive: true });
      await writeFile(accountSettingsFile(directory, sessionKey(workspaceId, sessionId)), JSON.stringify(own));
    }
    await createAccount(this.pool, this.client, {
      workspaceId,
      sessionId,
      taskQueue: this.taskQueue,
      ...(options.pairingPhoneNumber ? { pairingPhoneNumber: options.pairingPhoneNumber } : {}),
      ...(options.deviceName ? { deviceName: options.deviceName } : {}),
      ...(options.browserName ? { browserName: options.browserName } : {}),
      ...(options.proxy ? { proxy: options.proxy } : {}),
    });
    return {
      workspaceId,
      sessionId,
      handle: this.client.workflow.getHandle(accountWorkflowId(workspaceId, sessionId)),
    };
  }

  /** Tests give every account a session id of its own, so the id alone finds the row (the oldest, were it not). */
  async row(sessionId: string): Promise<AccountRow | null> {
    return (await accountsWithSessionId(this.pool, sessionId))[0] ?? null;
  }

  /** The key the engine, the leases and the stored login know the session by. */
  async key(sessionId: string): Promise<string> {
    const row = await this.row(sessionId);
    if (!row) throw new Error(`no account ${sessionId}`);
    return sessionKey(row.workspace_id, row.session_id);
  }

  private async events(sessionId: string) {
    const row = await this.row(sessionId);
    return row ? listAccountEvents(this.pool, row.workspace_id, sessionId, 1_000) : [];
  }

  /** Waits until the row satisfies `predicate`. */
  async rowWhere(
    sessionId: string,
    predicate: (row: AccountRow) => boolean,
    what: string,
    timeoutMs = 30_000,
  ): Promise<AccountRow> {
    return eventually(
      async () => {
        const row = await this.row(sessionId);
        return row && predicate(row) ? row : undefined;
      },
      timeoutMs,
      `${sessionId}: ${what}`,
    );
  }

  rowWithStatus(sessionId: string, status: AccountStatus, timeoutMs?: number) {
    return this.rowWhere(sessionId, (row) => row.status === status, `status ${status}`, timeoutMs);
  }

  async showingQr(sessionId: string) {
    return this.rowWhere(sessionId, (row) => row.last_qr !== null, 'a QR');
  }

  /** Plays the phone: the action must be applied by the worker holding the session. */
  async phone(sessionId: string, action: PhoneAction, params: Record<string, unknown> = {}) {
    const outcome = await submitPhoneAction(this.pool, await this.key(sessionId), action, params, {
      timeoutMs: 10_000,
    });
    if (outcome.state !== 'applied')
      throw new Error(`phone action ${action} on ${sessionId} was rejected: ${JSON.stringify(outcome.result)}`);
    return outcome.result;
  }

  async eventTypes(sessionId: string): Promise<string[]> {
    return (await this.events(sessionId)).map((event) => event.type);
  }

  async statusHistory(sessionId: string): Promise<AccountStatus[]> {
    return (await this.events(sessionId))
      .filter((event) => event.type !== 'qr' && event.type !== 'pairing_code' && event.status !== null)
      .map((event) => event.status as AccountStatus);
  }

  /** Waits until the status history ends connected, disconnected, connected: the account dropped and came back. */
  async reconnected(sessionId: string, timeoutMs = 30_000, what = 'reconnected'): Promise<void> {
    await eventually(
      async () =>
        (await this.statusHistory(sessionId)).join(',').endsWith('connected,disconnected,connected') ? true : undefined,
      timeoutMs,
      `${sessionId}: ${what}`,
    );
  }

  /** What a failed wait reports: the account's row and its recorded events, oldest first. */
  async explain(sessionId: string): Promise<string> {
    const row = await this.row(sessionId);
    const events = (await this.events(sessionId)).map(
      (event) => `${event.type}${event.status ? `→${event.status}` : ''}`,
    );
    return `account ${sessionId}: status ${row?.status ?? 'no row'}, failure_reason ${row?.failure_reason ?? 'none'}; events: ${events.join(', ')}`;
  }

  async hasAuth(sessionId: string): Promise<boolean> {
    return this.pool.exists(
      sql.type(
        z.object({ one: z.number() }),
      )`SELECT 1 AS one FROM engine_auth WHERE session_id = ${await this.key(sessionId)}`,
    );
  }
}

export function randomPhone(): string {
  return `628${Math.floor(1e8 + Math.random() * 9e8)}`;
}

import { ParentClosePolicy, startChild, upsertSearchAttributes } from '@temporalio/workflow';
import type { AccountSnapshot } from '../activities/account-store.js';
import { canMoveTo, type AccountStatus } from '../domain/account-status.js';
import type { AccountWait } from '../domain/account-wait.js';
import { rowWrites } from './account-activities.js';
import type { Ending } from './account-endings.js';
import type { AccountConnectionState } from './account-state.js';
import { sessionKey } from '../domain/session-key.js';
import { accountStatusKey, statusChangedAtKey } from './search-attributes.js';
import { startEachDelivery, webhookDelivery } from './webhook-delivery.js';

/**
 * The account's row as the workflow writes it: every write goes through here, is named by a change key so a retry
 * applies it once, and is followed by what the database decided (another activation may have taken the phone, the row
 * may be deleted). The workflow's state mirrors the row; the status is also a search attribute.
 */
export class AccountRecord {
  constructor(
    readonly state: AccountConnectionState,
    private readonly workflowId: string,
    private readonly startedAt: number,
  ) {}

  /** The row's activities find it by its session key: the session id alone may name an account in each workspace. */
  private get sessionId(): string {
    return sessionKey(this.state.workspaceId, this.state.sessionId);
  }

  async moveTo(status: AccountStatus, eventType: string, reason: string | null = null): Promise<void> {
    if (!canMoveTo(this.state.status, status)) return;
    const change = { sessionId: this.sessionId, status, eventType, reason, dedupeKey: this.nextChangeKey() };
    const snapshot = await rowWrites.recordStatus(change);
    this.state.failureReason = reason;
    await this.follow(snapshot);
  }

  async recordCode(kind: 'qr' | 'pairing_code', value: string, emittedAt?: number): Promise<void> {
    // The first code of the account measures how long WhatsApp took to offer a login.
    const first = this.state.latestQr === null && this.state.latestPairingCode === null;
    if (kind === 'qr') this.state.latestQr = value;
    else this.state.latestPairingCode = value;
    const timings: Record<string, number> = {
      ...(first ? { qrGenerationMs: Date.now() - this.startedAt } : {}),
      ...(emittedAt !== undefined ? { emittedAt } : {}),
    };
    await rowWrites.recordLoginCode({
      sessionId: this.sessionId,
      kind,
      value,
      dedupeKey: this.nextChangeKey(),
      timings,
    });
  }

  /**
   * An event that changes no status: what the account is waiting for, for people and the event stream. With a
   * `wait`, the row says so until its status changes or it shows a login code.
   */
  async note(eventType: string, data: Record<string, unknown>, wait?: AccountWait): Promise<void> {
    const event = { sessionId: this.sessionId, eventType, data, dedupeKey: this.nextChangeKey() };
    await rowWrites.recordEvent(wait ? { ...event, wait } : event);
  }

  /** Connected with this phone, in one transaction that releases the phone from the workspace's older accounts. */
  async activate(identity: { phoneNumber: string; pushName: string | null }, timings: Record<string, number>) {
    const activation = { sessionId: this.sessionId, ...identity, dedupeKey: this.nextChangeKey(), timings };
    const result = await rowWrites.activateAccount(activation);
    if (result.status === 'connected')
      Object.assign(this.state, { ...identity, failureReason: null, reconnectAttempts: 0, lastFailure: null });
    await this.follow(result);
    return result;
  }

  async end(ending: Ending, reason: string): Promise<void> {
    // The host removed its copy of the login; this removes the one in PostgreSQL even when the host is gone.
    if (ending.forgetLogin) await this.forgetLogin();
    const everConnected = this.state.status === 'connected' || this.state.status === 'disconnected';
    const snapshot = await rowWrites.endAccount({
      sessionId: this.sessionId,
      status: ending.status === 'disconnected' && !everConnected ? 'failed' : ending.status,
      reason,
      eventType: ending.eventType,
      softDelete: ending.softDelete,
      dedupeKey: this.nextChangeKey(),
    });
    this.state.failureReason = reason;
    await this.follow(snapshot);
    this.state.ended = true;
  }

  /** Another activation took the phone and already wrote this row: only the workflow's own view is left to update. */
  async superseded(bySessionId: string): Promise<void> {
    await this.forgetLogin();
    this.setStatus('failed');
    this.state.failureReason = `phone_moved_to_session:${bySessionId}`;
    this.state.ended = true;
  }

  private async forgetLogin(): Promise<void> {
    await rowWrites.forgetEngineAuth({ sessionId: this.sessionId });
  }

  private async follow(snapshot: AccountSnapshot): Promise<void> {
    // Each event goes out in a workflow of its own: a slow or dead receiver never holds this one up.
    await startEachDelivery(snapshot.webhookEventIds, (workflowId, eventId) =>
      startChild(webhookDelivery, { workflowId, args: [{ eventId }], parentClosePolicy: ParentClosePolicy.ABANDON }),
    );
    this.state.isPrimary = snapshot.isPrimary;
    this.setStatus(snapshot.status);
    if (snapshot.deleted || snapshot.status === 'failed') this.state.ended = true;
  }

  private setStatus(status: AccountStatus): void {
    if (status === this.state.status) return;
    this.state.status = status;
    upsertSearchAttributes([
      { key: accountStatusKey, value: status },
      { key: statusChangedAtKey, value: new Date() },
    ]);
  }

  /** Names each recorded change, so a retried write is applied once. */
  private nextChangeKey(): string {
    this.state.changeCount += 1;
    return `${this.workflowId}:${this.state.changeCount}`;
  }
}

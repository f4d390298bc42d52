import { readFile } from 'node:fs/promises';
import type { Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import type { AccountEvent } from '../db/account-events.js';
import { databaseFacts, recentFleetEvents } from '../db/escalation.js';
import { listHosts } from '../db/hosts.js';
import { listStuckAccounts } from '../db/stuck-accounts.js';
import { maskPhoneNumber } from '../domain/phone-number.js';
import { toAccountView } from './account-view.js';
import { describeAccountWorkflow } from './account-workflow.js';

/** Stuck accounts whose workflows are described one by one: enough to see the pattern, bounded in time. */
const DESCRIBED_WORKFLOWS = 20;

export interface BundleOptions {
  /** How far back failures and engine events go. */
  minutes: number;
  /** Stuck means longer than this in a status (null: each status's own expected time). */
  stuckOlderThanSeconds: number | null;
  unmaskPhoneNumbers: boolean;
  /** One workspace's accounts and events only (null: the whole fleet). */
  workspaceId: string | null;
}

/**
 * What the old troubleshooting guide's "Collect Diagnostic Bundle" step gathered by hand, in one answer: the version
 * of every part, the hosts, the stuck accounts with their workflows, the last hour's failures and engine events,
 * and the Temporal namespace's health. No secrets and no login codes; phone numbers and push names masked unless
 * asked.
 */
export async function escalationBundle(pool: DatabasePool, temporal: Client, options: BundleOptions) {
  const mask = (text: string | null) => (text === null || options.unmaskPhoneNumbers ? text : maskPhoneNumber(text));
  const maskedPush = (name: string | null) => (name === null || options.unmaskPhoneNumbers ? name : '[masked]');
  // A WhatsApp id (<phone>@c.us) or a LID (<digits>@lid) names the person as a phone number does.
  const maskId = (id: string | null) => {
    if (id === null || options.unmaskPhoneNumbers) return id;
    const at = id.lastIndexOf('@');
    return at < 0 ? mask(id) : `${mask(id.slice(0, at))}${id.slice(at)}`;
  };

  const stuck = await listStuckAccounts(pool, {
    workspaceId: options.workspaceId,
    olderThanSeconds: options.stuckOlderThanSeconds,
    limit: 200,
  });
  const stuckAccounts = await Promise.all(
    stuck.map(async ({ row, stuckForSeconds, expectedSeconds }, index) => {
      const view = toAccountView(row);
      return {
        account: {
          ...view,
          // A QR or a pairing code is a login while it is valid: never in a bundle that leaves the team.
          qr: null,
          pairingCode: null,
          phoneNumber: mask(view.phoneNumber),
          pushName: maskedPush(view.pushName),
          me: view.me && {
            ...view.me,
            whatsappId: maskId(view.me.whatsappId) ?? '',
            lid: maskId(view.me.lid),
            pushName: maskedPush(view.me.pushName),
          },
        },
        stuckForSeconds,
        expectedSeconds,
        workflow:
          index < DESCRIBED_WORKFLOWS
            ? await describeAccountWorkflow(temporal, row.workspace_id, row.session_id).catch((error: unknown) => ({
                unreadable: String(error),
              }))
            : null,
      };
    }),
  );
  const events = await recentFleetEvents(pool, {
    minutes: options.minutes,
    workspaceId: options.workspaceId,
    limit: 2_000,
  });

  return {
    generatedAt: new Date().toISOString(),
    phoneNumbersMasked: !options.unmaskPhoneNumbers,
    workspaceId: options.workspaceId,
    versions: await versions(pool, temporal),
    temporal: await namespaceHealth(temporal),
    hosts: await listHosts(pool, 3_600),
    stuckAccounts,
    recentEvents: {
      minutes: options.minutes,
      failures: events.filter(isFailure).map((event) => bundledEvent(event, mask, maskedPush, maskId)),
      all: events.map((event) => bundledEvent(event, mask, maskedPush, maskId)),
    },
  };
}

async function versions(pool: DatabasePool, temporal: Client) {
  const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
    dependencies: Record<string, string>;
  };
  const database = await databaseFacts(pool).catch((error: unknown) => ({ unreadable: String(error) }));
  const server = await temporal.connection.workflowService
    .getSystemInfo({})
    .then((info) => info.serverVersion ?? null)
    .catch((error: unknown) => `unreadable: ${String(error)}`);
  return {
    service: manifest.version,
    node: process.version,
    whatsappWebJs: manifest.dependencies['whatsapp-web.js'] ?? null,
    puppeteer: manifest.dependencies.puppeteer ?? null,
    temporalSdk: manifest.dependencies['@temporalio/client'] ?? null,
    temporalServer: server,
    postgres: database,
  };
}

async function namespaceHealth(temporal: Client) {
  const namespace = temporal.options.namespace;
  try {
    const described = await temporal.connection.workflowService.describeNamespace({ namespace });
    const running = await temporal.workflow
      .count('ExecutionStatus = "Running"')
      .then((answer) => answer.count)
      .catch(() => null);
    return {
      namespace,
      reachable: true,
      state: described.namespaceInfo?.state ?? null,
      retentionSeconds: Number(described.config?.workflowExecutionRetentionTtl?.seconds ?? 0),
      runningWorkflows: running,
    };
  } catch (error) {
    return { namespace, reachable: false, error: String(error) };
  }
}

const FAILURE_EVENTS = new Set(['session_failed', 'logged_out', 'disconnected', 'engine_retry_scheduled']);
function isFailure(event: AccountEvent): boolean {
  return FAILURE_EVENTS.has(event.type);
}

function bundledEvent(
  event: AccountEvent,
  mask: (text: string | null) => string | null,
  maskedPush: (name: string | null) => string | null,
  maskId: (id: string | null) => string | null,
) {
  const data = Object.fromEntries(
    Object.entries(event.data).map(([field, value]) => {
      if (typeof value !== 'string') return [field, value];
      if (/phone/i.test(field)) return [field, mask(value)];
      if (/pushName/i.test(field)) return [field, maskedPush(value)];
      if (field === 'whatsappId' || field === 'lid') return [field, maskId(value)];
      return [field, value];
    }),
  );
  return {
    id: event.id,
    workspaceId: event.workspace_id,
    sessionId: event.session_id,
    type: event.type,
    status: event.status,
    data,
    occurredAt: new Date(event.occurred_at).toISOString(),
  };
}

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditEntry, AuditOutcome } from '../db/audit-log.js';
import type { ApiPrincipal } from '../db/workspaces.js';
import { maskPhoneNumber } from '../domain/phone-number.js';
import { storableText } from '../lib/storable-text.js';

/** Body fields that hold secrets or login codes: the audit says they were given, never what they were. */
const SECRET_FIELD = /secret|password|username|token|key$|^key|credential|code|authorization/i;
/** URLs may carry credentials (user info, a token in the query): the audit keeps the origin and path. */
const URL_FIELD = /url$/i;
/** Phone numbers stay recognisable to the workspace without being spelled out (domain/phone-number.ts). */
const PHONE_FIELD = /phone/i;

/** The body as the audit keeps it: an object whatever was sent, secrets replaced, phone numbers masked, text cut. */
export function auditedChanges(body: unknown): Record<string, unknown> {
  const kept = auditedValue(body, 0);
  return kept !== null && typeof kept === 'object' && !Array.isArray(kept)
    ? (kept as Record<string, unknown>)
    : { body: kept };
}

/** Each value as the audit keeps it; a refused body may hold a NUL or half a surrogate pair, kept storable. */
function auditedValue(body: unknown, depth: number): unknown {
  if (depth > 4) return '[nested]';
  if (Array.isArray(body)) return body.slice(0, 20).map((item) => auditedValue(item, depth + 1));
  if (body === null || typeof body !== 'object') {
    if (typeof body !== 'string') return body;
    return storableText(body.length > 500 ? `${body.slice(0, 500)}…` : body);
  }
  return Object.fromEntries(
    Object.entries(body as Record<string, unknown>).map(([rawField, value]) => {
      const field = storableText(rawField);
      if (SECRET_FIELD.test(field)) return [field, value === null ? null : '[redacted]'];
      if (PHONE_FIELD.test(field) && typeof value === 'string') return [field, storableText(maskPhoneNumber(value))];
      if (URL_FIELD.test(field) && typeof value === 'string') return [field, withoutCredentials(value)];
      return [field, auditedValue(value, depth + 1)];
    }),
  );
}

export function auditOutcome(statusCode: number): AuditOutcome {
  if (statusCode >= 500) return 'failed';
  return statusCode >= 400 ? 'refused' : 'done';
}

/** What one change request leaves in the audit log. */
export function auditEntry(request: FastifyRequest, reply: FastifyReply): AuditEntry {
  const params = (request.params ?? {}) as Record<string, unknown>;
  const body = (request.body ?? {}) as Record<string, unknown>;
  const { principal } = request;
  // What a refused request names may be anything: kept storable and within the columns' bounds.
  const text = (value: unknown) => (typeof value === 'string' ? storableText(value).slice(0, 300) : null);
  const route = request.routeOptions.url;
  const path = request.url.split('?')[0] ?? request.url;
  const named = request.auditWorkspaceId ?? text(params.workspaceId) ?? text(body.workspaceId);
  return {
    workspaceId: auditedWorkspace(request.principal, named, request.auditWorkspaceId),
    actorKind: principal?.kind ?? 'anonymous',
    actorKeyPrefix: principal?.keyPrefix ?? null,
    actorName: principal?.name ?? 'anonymous',
    clientAddress: request.ip,
    // The route as declared names the action; a proxied path (the Temporal UI's) is named by itself.
    action: `${request.method} ${route && !route.includes('*') ? route : path}`,
    target: text(params.sessionId) ?? text(params.prefix) ?? text(params.linkId) ?? text(params.endpointId),
    changes: request.body === undefined ? {} : auditedChanges(request.body),
    statusCode: reply.statusCode,
    outcome: auditOutcome(reply.statusCode),
    requestId: request.id,
  };
}

/**
 * Whose audit log an entry goes to. A request is audited where its caller belongs, whatever workspace it named:
 * another workspace's log is no place a refused caller may write to. A workspace's key: its workspace. Key-less
 * legacy access: a workspace it may touch, if it named one. An operator: where it acted or aimed. No caller: only
 * where the handler decided, once it had checked the request (an onboarding link's workspace).
 */
function auditedWorkspace(
  principal: ApiPrincipal | null,
  named: string | null,
  decided: string | null | undefined,
): string | null {
  if (!principal) return decided ?? null;
  if (principal.workspaceId !== null) return principal.workspaceId;
  if (principal.onlyWorkspaces) return named !== null && principal.onlyWorkspaces.has(named) ? named : null;
  return named;
}

function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}${parsed.search ? '?[redacted]' : ''}`;
  } catch {
    return '[not a URL]';
  }
}

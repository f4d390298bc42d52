import type { FastifyRequest } from 'fastify';
import type { DatabasePool } from 'slonik';
import { findAccountBySession, type AccountRow } from '../db/accounts.js';
import { assertWorkspaceAccess } from './plugins/auth.js';
import { HttpProblem, problem } from './problem.js';

export interface AccountParams {
  workspaceId: string;
  sessionId: string;
}

const notFound = (params: AccountParams) => () =>
  new HttpProblem(problem(404, 'account_not_found', 'Not Found', `no account ${params.sessionId} in workspace ${params.workspaceId}`));

/** The account the request names, if the caller's key may see it; otherwise 404, exactly as for a missing one. */
export async function accountFor(request: FastifyRequest, pool: DatabasePool, params: AccountParams): Promise<AccountRow> {
  assertWorkspaceAccess(request, params.workspaceId, notFound(params));
  const row = await findAccountBySession(pool, params.sessionId);
  if (!row || row.workspace_id !== params.workspaceId) throw notFound(params)();
  return row;
}

import type { FastifyRequest } from 'fastify';
import type { DatabasePool } from 'slonik';
import { accountsWithSessionId, findAccountBySession, type AccountRow } from '../db/accounts.js';
import { assertWorkspaceAccess } from './plugins/auth.js';
import { HttpProblem, problem } from './problem.js';
import type { AccountParams } from './schemas.js';

/** The answer for a workspace a key may not see, exactly as for one that does not exist. */
export function workspaceNotFound(workspaceId: string): HttpProblem {
  return new HttpProblem(problem(404, 'workspace_not_found', 'Not Found', `no workspace ${workspaceId}`));
}

export function accountNotFound(params: AccountParams): HttpProblem {
  return new HttpProblem(
    problem(404, 'account_not_found', 'Not Found', `no account ${params.sessionId} in workspace ${params.workspaceId}`),
  );
}

/** The account the route names, in the route's workspace (whose access the workspace scope already checked). */
export async function accountFor(pool: DatabasePool, params: AccountParams): Promise<AccountRow> {
  const row = await findAccountBySession(pool, params.workspaceId, params.sessionId);
  if (!row) throw accountNotFound(params);
  return row;
}

/**
 * The account a route naming a session by its id alone means (the legacy session API, the simulator's control
 * surface), or null. Each workspace may use the same id, so among the workspaces this request may touch, a live
 * account wins over a deleted one and then the oldest: the same request keeps answering for the same account.
 */
export async function visibleAccountWithSessionId(
  pool: DatabasePool,
  request: FastifyRequest,
  sessionId: string,
): Promise<AccountRow | null> {
  const hidden = () => new HttpProblem(problem(404, 'hidden', 'Not Found', 'not visible'));
  for (const row of await accountsWithSessionId(pool, sessionId)) {
    try {
      assertWorkspaceAccess(request, row.workspace_id, hidden);
      return row;
    } catch (error) {
      if (!(error instanceof HttpProblem)) throw error;
    }
  }
  return null;
}

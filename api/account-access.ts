import type { DatabasePool } from 'slonik';
import { findAccountBySession, type AccountRow } from '../db/accounts.js';
import { HttpProblem, problem } from './problem.js';

export interface AccountParams {
  workspaceId: string;
  sessionId: string;
}

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
  const row = await findAccountBySession(pool, params.sessionId);
  if (!row || row.workspace_id !== params.workspaceId) throw accountNotFound(params);
  return row;
}

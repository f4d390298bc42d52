import { defineSearchAttributeKey } from '@temporalio/common';

/**
 * Search attributes on every account workflow, so operators can ask the Temporal UI things like
 * `AccountStatus = "authenticated"`. Phone numbers never go here: search attributes are visible to every operator.
 */
export const accountStatusKey = defineSearchAttributeKey('AccountStatus', 'KEYWORD');
export const workspaceIdKey = defineSearchAttributeKey('WorkspaceId', 'KEYWORD');
/** The host queue of the worker process running the session: "everything on this host". */
export const accountHostKey = defineSearchAttributeKey('AccountHost', 'KEYWORD');
/** When the status last changed: "in `authenticated` for more than 5 minutes". */
export const statusChangedAtKey = defineSearchAttributeKey('AccountStatusChangedAt', 'DATETIME');

/** The same keys in the `NAME=Type` form the Temporal CLI and server configuration take. */
export const SEARCH_ATTRIBUTE_DECLARATIONS = [
  'AccountStatus=Keyword',
  'WorkspaceId=Keyword',
  'AccountHost=Keyword',
  'AccountStatusChangedAt=Datetime',
] as const;

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { DatabasePool } from 'slonik';
import { Type } from 'typebox';
import { setAccountDeviceNames } from '../../db/account-start-settings.js';
import { findAccountBySession } from '../../db/accounts.js';
import { ensureWorkspace, setWorkspaceDeviceNames, type WorkspaceRow } from '../../db/workspaces.js';
import { accountFor, accountNotFound } from '../account-access.js';
import { AccountViewRef, toAccountView } from '../account-view.js';
import { AccountParams, LinkedDeviceNames, problemResponses, WorkspaceParams } from '../schemas.js';

const WorkspaceLinkedDevice = Type.Object(
  {
    workspaceId: Type.String(),
    ...LinkedDeviceNames.properties,
  },
  { additionalProperties: false },
);

const workspaceView = (row: WorkspaceRow) => ({
  workspaceId: row.id,
  deviceName: row.device_name,
  browserName: row.browser_name,
});

/**
 * The name the phone shows under "Linked devices": the device and the browser a client announces. Per account, with
 * a workspace default; read at each session start, so a change applies from the next (POST .../restart applies it
 * now, from the saved login, no scan).
 */
export default async function linkedDevicePlugin(fastify: FastifyInstance, options: { pool: DatabasePool }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { pool } = options;

  app.put(
    '/accounts/:sessionId/linked-device',
    {
      schema: {
        summary:
          'Set the device and browser names this account announces to the phone (null: the workspace default, else WhatsApp Web’s); applied at its next start',
        tags: ['accounts'],
        params: AccountParams,
        body: LinkedDeviceNames,
        response: { 200: AccountViewRef, ...problemResponses },
      },
    },
    async (request) => {
      const row = await accountFor(pool, request.params);
      await setAccountDeviceNames(pool, row.id, request.body);
      const named = await findAccountBySession(pool, row.workspace_id, row.session_id);
      if (!named || named.deleted_at !== null) throw accountNotFound(request.params);
      return toAccountView(named);
    },
  );

  app.get(
    '/linked-device',
    {
      schema: {
        summary: "The workspace's default device and browser names for its accounts' linked devices",
        tags: ['accounts'],
        params: WorkspaceParams,
        response: { 200: WorkspaceLinkedDevice, ...problemResponses },
      },
    },
    async (request) => workspaceView(await ensureWorkspace(pool, request.params.workspaceId)),
  );

  app.put(
    '/linked-device',
    {
      schema: {
        summary: "Set the workspace's default device and browser names (null: WhatsApp Web's own)",
        tags: ['accounts'],
        params: WorkspaceParams,
        body: LinkedDeviceNames,
        response: { 200: WorkspaceLinkedDevice, ...problemResponses },
      },
    },
    async (request) => workspaceView(await setWorkspaceDeviceNames(pool, request.params.workspaceId, request.body)),
  );
}

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { endOnboardingLink, insertOnboardingLink, listOnboardingLinks } from '../../db/onboarding-links.js';
import { ensureWorkspace, setWorkspaceDisplayName } from '../../db/workspaces.js';
import { newOnboardingLinkId, signOnboardingToken } from '../../lib/onboarding-token.js';
import { accountFor } from '../account-access.js';
import { OnboardingLinkView, toOnboardingLinkView } from '../onboarding-link-view.js';
import { HttpProblem, problem } from '../problem.js';
import { AccountParams, Nullable, problemResponses, WorkspaceParams } from '../schemas.js';
import type { WorkspaceServices } from '../workspace-services.js';

export const ONBOARDING_LINK_DEFAULT_MINUTES = 30;
export const ONBOARDING_LINK_MAX_MINUTES = 24 * 60;

const CreateLinkBody = Type.Object(
  {
    expiresInMinutes: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: ONBOARDING_LINK_MAX_MINUTES,
        default: ONBOARDING_LINK_DEFAULT_MINUTES,
        description: `how long the link opens, in minutes (default ${ONBOARDING_LINK_DEFAULT_MINUTES}, at most a day)`,
      }),
    ),
  },
  { additionalProperties: false },
);

const CreatedLink = Type.Object(
  {
    ...OnboardingLinkView.properties,
    url: Type.String({
      description: 'the page to hand to the customer; shown only now (it holds the signed token)',
    }),
  },
  { additionalProperties: false },
);

const LinkParams = Type.Object(
  { ...AccountParams.properties, linkId: Type.String({ pattern: '^[A-Za-z0-9_-]{22}$' }) },
  { additionalProperties: false },
);

const displayNameSchema = Type.String({
  minLength: 1,
  maxLength: 80,
  pattern: '^[^\\u0000-\\u001f\\u007f]+$',
  description: "the name the onboarding page shows its visitors, e.g. the business's own",
});
const OnboardingSettings = Type.Object(
  { workspaceId: Type.String(), displayName: Nullable(displayNameSchema) },
  { additionalProperties: false },
);
const OnboardingSettingsBody = Type.Object(
  { displayName: Nullable(displayNameSchema) },
  { additionalProperties: false },
);

/**
 * Hosted onboarding links: a signed URL that opens one account's QR or pairing-code form, for the workspace to hand
 * to its own customer (api/plugins/onboarding-page.ts serves what the customer opens).
 */
export default async function onboardingLinksPlugin(fastify: FastifyInstance, options: WorkspaceServices) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { pool, keyring } = options;

  app.post(
    '/accounts/:sessionId/onboarding-link',
    {
      schema: {
        summary:
          "A signed link to this account's QR and pairing-code form for a customer to open: good for this account only, until it connects, the link expires or is revoked",
        tags: ['onboarding'],
        params: AccountParams,
        body: CreateLinkBody,
        response: { 201: CreatedLink, ...problemResponses },
      },
    },
    async (request, reply) => {
      const row = await accountFor(pool, request.params);
      if (row.deleted_at !== null || row.status === 'failed')
        throw new HttpProblem(problem(409, 'account_ended', 'Conflict', `account ${row.session_id} has ended`));
      if (row.status === 'connected') {
        throw new HttpProblem(
          problem(409, 'account_already_connected', 'Conflict', `account ${row.session_id} is already connected`),
        );
      }
      const link = await insertOnboardingLink(pool, {
        id: newOnboardingLinkId(),
        account: row,
        minutes: request.body.expiresInMinutes ?? ONBOARDING_LINK_DEFAULT_MINUTES,
        createdBy: request.principal?.keyPrefix ?? null,
      });
      // The token expires when the row does: both on the database's clock.
      const token = signOnboardingToken(keyring, { linkId: link.id, expiresAt: new Date(link.expires_at) });
      const base = options.publicUrl ?? `${request.protocol}://${request.host}`;
      void reply.code(201).header('cache-control', 'no-store');
      return { ...toOnboardingLinkView(link, row.session_id), url: `${base}/onboard/${token}` };
    },
  );

  app.get(
    '/accounts/:sessionId/onboarding-links',
    {
      schema: {
        summary: "The account's onboarding links, newest first (without their URLs): open, expired or ended, and why",
        tags: ['onboarding'],
        params: AccountParams,
        response: { 200: Type.Object({ items: Type.Array(OnboardingLinkView) }), ...problemResponses },
      },
    },
    async (request) => {
      const row = await accountFor(pool, request.params);
      const links = await listOnboardingLinks(pool, row);
      return { items: links.map((link) => toOnboardingLinkView(link, row.session_id)) };
    },
  );

  app.delete(
    '/accounts/:sessionId/onboarding-links/:linkId',
    {
      schema: {
        summary: 'Revoke an onboarding link: it stops opening at once, and a page open on it is told so',
        tags: ['onboarding'],
        params: LinkParams,
        response: { 200: OnboardingLinkView, ...problemResponses },
      },
    },
    async (request) => {
      const row = await accountFor(pool, request.params);
      const link = await endOnboardingLink(pool, { id: request.params.linkId, accountId: row.id }, 'revoked');
      if (!link) {
        throw new HttpProblem(
          problem(404, 'onboarding_link_not_found', 'Not Found', `account ${row.session_id} has no such link`),
        );
      }
      return toOnboardingLinkView(link, row.session_id);
    },
  );

  app.get(
    '/onboarding',
    {
      schema: {
        summary: "The workspace's onboarding page settings: the display name its links show",
        tags: ['onboarding'],
        params: WorkspaceParams,
        response: { 200: OnboardingSettings, ...problemResponses },
      },
    },
    async (request) => {
      const workspace = await ensureWorkspace(pool, request.params.workspaceId);
      return { workspaceId: workspace.id, displayName: workspace.display_name };
    },
  );

  app.put(
    '/onboarding',
    {
      schema: {
        summary: 'Set the display name the workspace’s onboarding links show (null: none)',
        tags: ['onboarding'],
        params: WorkspaceParams,
        body: OnboardingSettingsBody,
        response: { 200: OnboardingSettings, ...problemResponses },
      },
    },
    async (request) => ({
      workspaceId: request.params.workspaceId,
      displayName: await setWorkspaceDisplayName(pool, request.params.workspaceId, request.body.displayName),
    }),
  );
}

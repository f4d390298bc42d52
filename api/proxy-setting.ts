import { Type, type Static } from 'typebox';
import type { ProxyChange, ProxyView } from '../db/proxy-settings.js';
import { isProxyRefusal, parseProxyUrl, PROXY_SCHEMES, proxyUrl } from '../domain/proxy-setting.js';
import { isIP } from 'node:net';
import { addressRefusal, type WebhookNetworkPolicy } from '../webhooks/network-policy.js';
import { HttpProblem, problem } from './problem.js';
import { Nullable, StringEnum } from './schemas.js';

/** A proxy as a request gives it: where it is, and apart from the URL, its credentials. */
export const ProxyBody = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      maxLength: 300,
      description: 'http://host:port, https://host:port or socks5://host:port, without credentials',
    }),
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  },
  { additionalProperties: false },
);

/** The body of PUT .../proxy: a proxy, or `url: null` to remove it. */
export const ProxySettingBody = Type.Object(
  {
    url: Nullable(ProxyBody.properties.url),
    username: ProxyBody.properties.username,
    password: ProxyBody.properties.password,
  },
  { additionalProperties: false },
);

/** What a proxy setting shows: never its credentials, only whether it has some. */
export const ProxyViewSchema = Type.Object(
  {
    url: Type.String({ description: 'scheme://host:port' }),
    scheme: StringEnum(PROXY_SCHEMES),
    host: Type.String(),
    port: Type.Integer(),
    authenticated: Type.Boolean({ description: 'whether it has a username and password (never shown)' }),
  },
  { additionalProperties: false },
);
export type ProxyViewBody = Static<typeof ProxyViewSchema>;

export function toProxyView(view: ProxyView | null): ProxyViewBody | null {
  return view && { url: proxyUrl(view), ...view };
}

/** A request's proxy as a change to store, or the problem with what it gave (400, a stable code). */
export function proxyChangeOf(
  body: { url: string | null; username?: string; password?: string },
  /** Where the proxy is in the request's body (a JSON pointer), for the problem's errors. */
  at: string,
  policy: WebhookNetworkPolicy,
): ProxyChange {
  const proxyProblem = (code: string, detail: string) =>
    new HttpProblem(
      problem(400, code, 'Bad Request', detail, { errors: [{ in: 'body', field: at, message: detail }] }),
    );
  if (body.url === null) {
    if (body.username !== undefined || body.password !== undefined)
      throw proxyProblem('proxy_credentials_without_proxy', 'credentials were given with no proxy URL');
    return null;
  }
  const address = parseProxyUrl(body.url);
  if (isProxyRefusal(address)) throw proxyProblem(address.code, address.detail);
  // A literal address is judged now; a name is judged on what it resolves to, each time it is dialed.
  const refusal =
    !policy.allowedHosts.has(address.host.toLowerCase()) && isIP(address.host) !== 0
      ? addressRefusal(address.host)
      : null;
  if (refusal)
    throw proxyProblem(
      'proxy_address_not_allowed',
      `${address.host} is ${refusal}; an operator may allow it (PROXY_ALLOWED_HOSTS)`,
    );
  if ((body.username === undefined) !== (body.password === undefined))
    throw proxyProblem('proxy_credentials_incomplete', 'a proxy login needs both username and password');
  const credentials =
    body.username !== undefined && body.password !== undefined
      ? { username: body.username, password: body.password }
      : null;
  return { address, credentials };
}

/**
 * The proxy an account's session goes out through: where it is (scheme, host, port) and, apart, its credentials.
 * Plain data with no imports: the API checks a request with it, the database stores what it answers, the engine
 * dials what it holds.
 */
export const PROXY_SCHEMES = ['http', 'https', 'socks5'] as const;
export type ProxyScheme = (typeof PROXY_SCHEMES)[number];

export interface ProxyAddress {
  scheme: ProxyScheme;
  host: string;
  port: number;
}

export interface ProxyCredentials {
  username: string;
  password: string;
}

/** What a session dials: the address and, when the proxy asks for them, the credentials (opened, in memory only). */
export interface SessionProxy extends ProxyAddress {
  credentials: ProxyCredentials | null;
}

/** A refusal with a stable code for the API's problem details. */
export interface ProxyRefusal {
  code: 'proxy_scheme_unsupported' | 'proxy_credentials_in_url' | 'proxy_url_invalid';
  detail: string;
}

const DEFAULT_PORTS: Record<ProxyScheme, number> = { http: 80, https: 443, socks5: 1080 };

/**
 * Reads `http://host:port`, `https://host:port` or `socks5://host:port` (the port defaults per scheme). Credentials go
 * in their own fields, never in the URL, where they would be logged and echoed wherever the URL travels.
 */
export function parseProxyUrl(text: string): ProxyAddress | ProxyRefusal {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { code: 'proxy_url_invalid', detail: `not a URL: ${JSON.stringify(text.slice(0, 100))}` };
  }
  const scheme = url.protocol.slice(0, -1);
  if (!isProxyScheme(scheme))
    return {
      code: 'proxy_scheme_unsupported',
      detail: `a proxy is ${PROXY_SCHEMES.map((s) => `${s}://`).join(', ')}; not ${scheme}://`,
    };
  if (url.username || url.password)
    return {
      code: 'proxy_credentials_in_url',
      detail: 'give the proxy credentials as username and password, not in the URL',
    };
  if (!url.hostname) return { code: 'proxy_url_invalid', detail: 'the proxy URL names no host' };
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash)
    return { code: 'proxy_url_invalid', detail: 'a proxy URL is scheme://host:port, with no path, query or fragment' };
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { scheme, host, port: url.port ? Number(url.port) : DEFAULT_PORTS[scheme] };
}

export function isProxyRefusal(parsed: ProxyAddress | ProxyRefusal): parsed is ProxyRefusal {
  return 'code' in parsed;
}

function isProxyScheme(value: string): value is ProxyScheme {
  return (PROXY_SCHEMES as readonly string[]).includes(value);
}

/** The address as a URL, without credentials: what an account shows and a log may say. */
export function proxyUrl(proxy: ProxyAddress): string {
  const host = proxy.host.includes(':') ? `[${proxy.host}]` : proxy.host;
  return `${proxy.scheme}://${host}:${proxy.port}`;
}

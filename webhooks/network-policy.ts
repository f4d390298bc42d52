import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Where webhooks may go. A tenant names the URL, so without a policy the worker would post to anything it can reach:
 * the loopback interface, the private network, a cloud's metadata service. The policy is applied to the URL when it
 * is set and again to every address the name resolves to when a delivery connects, so a name that changes its answer
 * (DNS rebinding) cannot slip past the first check.
 */
export interface WebhookNetworkPolicy {
  /**
   * Host names (or literal addresses) exempt from the policy, and allowed over plain http: for development and tests
   * (`WEBHOOK_ALLOWED_HOSTS=localhost,127.0.0.1`). Empty in production.
   */
  allowedHosts: ReadonlySet<string>;
}

export const STRICT_POLICY: WebhookNetworkPolicy = { allowedHosts: new Set() };

/** The policy the environment asks for: `WEBHOOK_ALLOWED_HOSTS` is a comma-separated list of host names. */
export function webhookPolicyFromEnv(value: string | undefined): WebhookNetworkPolicy {
  const hosts = (value ?? '')
    .split(',')
    .map((host) => host.trim().toLowerCase())
    .filter(Boolean);
  return { allowedHosts: new Set(hosts.map(bareHost)) };
}

const REFUSED_RANGES: Array<[address: string, prefix: number, family: 'ipv4' | 'ipv6', what: string]> = [
  ['0.0.0.0', 8, 'ipv4', 'an unspecified address'],
  ['10.0.0.0', 8, 'ipv4', 'a private address'],
  ['100.64.0.0', 10, 'ipv4', 'a shared (carrier-grade NAT) address'],
  ['127.0.0.0', 8, 'ipv4', 'a loopback address'],
  ['169.254.0.0', 16, 'ipv4', 'a link-local address (cloud metadata services live here)'],
  ['172.16.0.0', 12, 'ipv4', 'a private address'],
  ['192.0.0.0', 24, 'ipv4', 'an IETF protocol address'],
  ['192.0.2.0', 24, 'ipv4', 'a documentation address'],
  ['192.168.0.0', 16, 'ipv4', 'a private address'],
  ['198.18.0.0', 15, 'ipv4', 'a benchmarking address'],
  ['198.51.100.0', 24, 'ipv4', 'a documentation address'],
  ['203.0.113.0', 24, 'ipv4', 'a documentation address'],
  ['224.0.0.0', 4, 'ipv4', 'a multicast address'],
  ['240.0.0.0', 4, 'ipv4', 'a reserved address'],
  ['::', 128, 'ipv6', 'an unspecified address'],
  ['::1', 128, 'ipv6', 'a loopback address'],
  ['::', 96, 'ipv6', 'an IPv4-compatible address (deprecated; it embeds an IPv4 address)'],
  ['64:ff9b::', 96, 'ipv6', 'a NAT64 address (it embeds an IPv4 address)'],
  ['64:ff9b:1::', 48, 'ipv6', 'a NAT64 address (it embeds an IPv4 address)'],
  ['100::', 64, 'ipv6', 'a discard address'],
  ['2001:db8::', 32, 'ipv6', 'a documentation address'],
  ['fc00::', 7, 'ipv6', 'a unique-local address (cloud metadata services live here too)'],
  ['fe80::', 10, 'ipv6', 'a link-local address'],
  ['fec0::', 10, 'ipv6', 'a site-local address (deprecated, still routed as private by some networks)'],
  ['ff00::', 8, 'ipv6', 'a multicast address'],
];

const RANGES = REFUSED_RANGES.map(([address, prefix, family, what]) => {
  const list = new BlockList();
  list.addSubnet(address, prefix, family);
  return { list, what };
});

/** Why this address may not receive webhooks, or null when it is a public unicast address. */
export function addressRefusal(address: string): string | null {
  const bare = bareHost(address);
  const family = isIP(bare);
  if (family === 0) return 'not an IP address';
  // An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is checked as the IPv4 address it is.
  for (const { list, what } of RANGES) if (list.check(bare, family === 4 ? 'ipv4' : 'ipv6')) return what;
  return null;
}

/** Why this URL may not receive webhooks, judged without resolving its name; null when it may. */
export function urlRefusal(url: string, policy: WebhookNetworkPolicy): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return 'only https URLs receive webhooks';
  if (parsed.username || parsed.password) return 'credentials do not belong in a webhook URL';
  // The WHATWG parser has already turned decimal, octal and hexadecimal IPv4 spellings into dotted quads.
  const host = bareHost(parsed.hostname);
  if (policy.allowedHosts.has(host)) return null;
  if (parsed.protocol !== 'https:') return 'only https URLs receive webhooks';
  if (isIP(host) !== 0) {
    const refusal = addressRefusal(host);
    if (refusal) return `${host} is ${refusal}`;
  }
  return null;
}

/**
 * A DNS lookup for the delivery's socket that refuses every answer the policy refuses: the check happens on the
 * addresses the connection will really use.
 */
export function guardedLookup(policy: WebhookNetworkPolicy, hostname: string): LookupFunction {
  const exempt = policy.allowedHosts.has(bareHost(hostname));
  return (name, options, callback) => {
    dnsLookup(name, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const refused = exempt ? undefined : addresses.find((entry) => addressRefusal(entry.address) !== null);
      if (refused) {
        const refusal = new Error(`${name} resolves to ${refused.address}, ${addressRefusal(refused.address)}`);
        (refusal as NodeJS.ErrnoException).code = 'EWEBHOOKREFUSED';
        return callback(refusal, '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0];
      if (!first) return callback(new Error(`${name} has no address`), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1).toLowerCase() : host.toLowerCase();
}

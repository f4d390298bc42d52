import { readFileSync } from 'node:fs';
import { WEB_VERSION_PATTERN } from '../domain/web-version.js';

/**
 * WA_WEB_VERSION_DIGESTS: the WhatsApp Web builds the remote cache may load, each with the SHA-256 of its HTML.
 * Either inline, `2.3000.1017054665=<64 hex>,2.3000.1017054666=<64 hex>`, or `@/path/to/file` with one
 * `version=sha256` a line (blank lines and lines starting with # are skipped). Throws with what is wrong.
 */
export function parseWebBuildDigests(value: string): Map<string, string> {
  const source = value.startsWith('@') ? readDigestFile(value.slice(1)) : value.replaceAll(',', '\n');
  const digests = new Map<string, string>();
  for (const [index, raw] of source.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([^=\s]+)\s*=\s*(?:sha256:)?([0-9a-fA-F]{64})$/.exec(line);
    const where = value.startsWith('@') ? `line ${index + 1}` : `entry ${index + 1}`;
    if (!match?.[1] || !match[2]) throw new Error(`${where}: must be version=<SHA-256 in 64 hex digits>`);
    if (!new RegExp(WEB_VERSION_PATTERN).test(match[1]))
      throw new Error(`${where}: ${match[1]} is not a WhatsApp Web build such as 2.3000.1017054665`);
    if (digests.has(match[1])) throw new Error(`${where}: ${match[1]} is listed twice`);
    digests.set(match[1], match[2].toLowerCase());
  }
  if (digests.size === 0) throw new Error('lists no build');
  return digests;
}

function readDigestFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

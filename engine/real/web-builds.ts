import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type wwebjs from 'whatsapp-web.js';

/** The WhatsApp Web version the stand-in answers as; the library serves it from its local web version cache. */
export const STANDIN_WEB_VERSION = '2.3000.0-wa-connect-standin';
const STANDIN_PAGE = fileURLToPath(new URL('./whatsapp-web-standin.html', import.meta.url));

/** A build's HTML is a few megabytes; an archive answering more is not serving a build. */
const MAX_WEB_BUILD_BYTES = 32 * 1024 * 1024;

export interface WebBuildOptions {
  /** This engine's folder: the web cache and the verified builds live under it. */
  dataDir: string;
  /** Serve the stand-in WhatsApp Web page instead of reaching web.whatsapp.com. */
  standIn: boolean;
  /** How long fetching a build from the archive may take. */
  fetchTimeoutMs: number;
  /** The WhatsApp Web build every client loads unless its account pins another; null: the library's default. */
  webVersion: string | null;
  /**
   * Where a pinned build comes from (whatsapp-web.js's webVersionCache): `local`, this engine's folder (a build the
   * live page served once is kept there; the stand-in writes its page there); `remote`, a URL template with
   * `{version}` (https), each build checked against its listed SHA-256 (`digests`, by version) before it runs; `none`,
   * always the live page (no pin possible).
   */
  webVersionCache:
    { type: 'local' } | { type: 'remote'; remotePath: string; digests: ReadonlyMap<string, string> } | { type: 'none' };
}

/** The stand-in page answers as whatever build it is asked for. */
export function standInPage(html: string, version: string): string {
  return html.replaceAll(STANDIN_WEB_VERSION, version);
}

/** A WhatsApp Web build from the archive that is not run: not listed, not fetched, or not matching its SHA-256. */
export class WebBuildRefused extends Error {
  override readonly name = 'WebBuildRefused';
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * Which WhatsApp Web build a client loads and from where: the service's or the account's pin, the stand-in's page,
 * or a build from the operator's archive that matched its listed SHA-256.
 */
export class WebBuilds {
  /** Fetches from the archive at most once at a time per build, however many sessions start on it together. */
  private readonly buildFetches = new Map<string, Promise<void>>();
  /** The stand-in's builds put in the web cache by this process: each once, however many sessions start on it. */
  private readonly standInBuilds = new Map<string, Promise<void>>();

  constructor(private readonly options: WebBuildOptions) {}

  private get webCacheDir() {
    return resolve(this.options.dataDir, 'web-cache');
  }

  /** Builds from the archive, each kept only once its bytes matched its listed SHA-256 (nothing else writes here). */
  private get verifiedBuildsDir() {
    return resolve(this.options.dataDir, 'verified-builds');
  }

  /**
   * The library's build options for one client. A pinned build is strict: a client never silently runs another
   * build than the one pinned; the start fails (WebBuildRefused), and the account says why, until it can be had.
   */
  async clientOptions(accountPin: string | null | undefined): Promise<Partial<wwebjs.ClientOptions>> {
    const pinned = accountPin ?? this.options.webVersion;
    const cache = this.options.webVersionCache;
    if (cache.type === 'remote' && pinned) {
      await this.verifiedBuild(pinned, cache.remotePath, cache.digests);
      return { webVersion: pinned, webVersionCache: { type: 'local', path: this.verifiedBuildsDir, strict: true } };
    }
    // Only a pinned build comes from the archive: without a pin the page is WhatsApp's own, over its TLS.
    if (cache.type === 'none' || (cache.type === 'remote' && !this.options.standIn))
      return { webVersionCache: { type: 'none' } };
    if (this.options.standIn) {
      const version = pinned ?? STANDIN_WEB_VERSION;
      await this.standInBuild(version);
      return { webVersion: version, webVersionCache: { type: 'local', path: this.webCacheDir, strict: true } };
    }
    return {
      ...(pinned ? { webVersion: pinned } : {}),
      webVersionCache: { type: 'local', path: this.webCacheDir, strict: pinned !== null },
    };
  }

  /**
   * Puts `version` in the verified builds, from the archive, when its bytes match the SHA-256 the operator listed
   * for it; throws a WebBuildRefused otherwise. A build on disk is checked again at every start: the library reads
   * exactly the file checked here.
   */
  private async verifiedBuild(version: string, remotePath: string, digests: ReadonlyMap<string, string>) {
    const listed = digests.get(version);
    if (!listed) throw new WebBuildRefused(`web build ${version} has no listed SHA-256 (WA_WEB_VERSION_DIGESTS)`);
    const file = join(this.verifiedBuildsDir, `${version}.html`);
    const onDisk = await readFile(file).catch(() => null);
    if (onDisk && sha256(onDisk) === listed) return;
    let fetching = this.buildFetches.get(version);
    if (!fetching) {
      fetching = (async () => {
        const url = remotePath.replaceAll('{version}', version);
        let body: Buffer;
        try {
          body = await httpsGet(url, this.options.fetchTimeoutMs, MAX_WEB_BUILD_BYTES);
        } catch (error) {
          throw new WebBuildRefused(`web build ${version} could not be fetched: ${(error as Error).message}`);
        }
        if (sha256(body) !== listed)
          throw new WebBuildRefused(`web build ${version} does not match its listed SHA-256`);
        await mkdir(this.verifiedBuildsDir, { recursive: true });
        // Written aside and renamed: a start never reads half a build.
        const partial = `${file}.${process.pid}.partial`;
        await writeFile(partial, body);
        await rename(partial, file);
      })().finally(() => this.buildFetches.delete(version));
      this.buildFetches.set(version, fetching);
    }
    await fetching;
  }

  private standInBuild(version: string): Promise<void> {
    let written = this.standInBuilds.get(version);
    if (!written) {
      written = (async () => {
        await mkdir(this.webCacheDir, { recursive: true });
        const page = standInPage(await readFile(STANDIN_PAGE, 'utf8'), version);
        await writeFile(join(this.webCacheDir, `${version}.html`), page);
      })();
      // A write that failed is tried again by the next start, not remembered.
      written.catch(() => this.standInBuilds.delete(version));
      this.standInBuilds.set(version, written);
    }
    return written;
  }
}

/** The body of a 200 answer to an https GET (redirects are not followed: the listed URL is the build's). */
function httpsGet(url: string, timeoutMs: number, maxBytes: number): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const request = https.get(url, { timeout: timeoutMs }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        reject(new Error(`the archive answered ${response.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) request.destroy(new Error(`the build is larger than ${maxBytes} bytes`));
        else chunks.push(chunk);
      });
      response.on('end', () => resolvePromise(Buffer.concat(chunks)));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { standInPage } from '../../engine/real/web-builds.js';
import { TestCertificateAuthority } from './certificates.js';

const STANDIN_HTML = fileURLToPath(new URL('../../engine/real/whatsapp-web-standin.html', import.meta.url));

/**
 * An archive of WhatsApp Web builds over https on loopback, with a certificate of a test CA the workers are told to
 * trust (NODE_EXTRA_CA_CERTS). Each build is the stand-in page answering as that build, unless `page` says otherwise.
 */
export async function httpsWebBuildArchive(
  dir: string,
  page: (version: string, standIn: string) => string = (version, standIn) => standInPage(standIn, version),
) {
  const ca = await TestCertificateAuthority.create(dir, 'archive');
  const { cert, key } = await ca.issue('127.0.0.1', { altNames: ['IP:127.0.0.1'], usages: ['serverAuth'] });
  const html = await readFile(STANDIN_HTML, 'utf8');
  const requested: string[] = [];
  const server: Server = createServer({ cert: await readFile(cert), key: await readFile(key) }, (request, response) => {
    const version = /^\/builds\/([0-9][0-9A-Za-z.-]*)\.html$/.exec(request.url ?? '')?.[1];
    if (!version) {
      response.writeHead(404).end();
      return;
    }
    requested.push(version);
    response.writeHead(200, { 'content-type': 'text/html' }).end(page(version, html));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    caFile: ca.cert,
    url: `https://127.0.0.1:${port}/builds/{version}.html`,
    requested,
    /** The build's bytes as the archive serves them. */
    pageOf: (version: string) => page(version, html),
  };
}

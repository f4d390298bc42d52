import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';

export interface StaticPage {
  file: string;
  type: string;
}

const ASSETS: Record<string, StaticPage> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

/** Serves files of web/ read once at start (no build step), public, under a content security policy. */
export async function serveStaticPages(
  app: FastifyInstance,
  pages: Record<string, StaticPage>,
  contentSecurityPolicy: string,
): Promise<void> {
  for (const [url, page] of Object.entries(pages)) {
    const content = await readFile(new URL(`../../web/${page.file}`, import.meta.url));
    app.get(url, { config: { auth: 'public' }, schema: { hide: true } }, async (_request, reply) =>
      reply
        .type(page.type)
        .header('cache-control', 'no-cache')
        .header('content-security-policy', contentSecurityPolicy)
        .send(content),
    );
  }
}

/** The "add account" page. */
export default async function pagePlugin(app: FastifyInstance) {
  // frame-ancestors: no other site may frame the page and have a user click in it.
  await serveStaticPages(
    app,
    ASSETS,
    "default-src 'self'; img-src 'self' data: blob:; connect-src 'self' ws: wss:; frame-ancestors 'none'",
  );
}

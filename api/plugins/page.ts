import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';

const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

/** The "add account" page: three static files from web/, read once at start (no build step). */
export default async function pagePlugin(app: FastifyInstance) {
  for (const [url, asset] of Object.entries(ASSETS)) {
    const content = await readFile(new URL(`../../web/${asset.file}`, import.meta.url));
    app.get(url, { config: { auth: 'public' }, schema: { hide: true } }, async (_request, reply) =>
      reply
        .type(asset.type)
        .header('cache-control', 'no-cache')
        .header('content-security-policy', "default-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:")
        .send(content),
    );
  }
}

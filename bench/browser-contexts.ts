import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type BrowserContext } from 'puppeteer';
import { chromiumFlags, decideSandbox, readSandboxFacts } from '../engine/real/chromium-sandbox.js';
import { chromiumMemory } from '../engine/real/chromium-memory.js';

const STANDIN_PAGE = fileURLToPath(new URL('../engine/real/whatsapp-web-standin.html', import.meta.url));
const SETTLE_MS = 5_000;

/**
 * `npm run bench -- --browser-contexts N`: what N sessions' Chromium costs when each has a Chromium of its own (what
 * the engine runs: a profile folder per session, which is what keeps and moves its login) against one Chromium per
 * host with a browser context per session. Each page loads the WhatsApp Web stand-in, answered from memory (nothing
 * leaves the machine). Memory is PSS, so processes shared by the sessions count once.
 */
export async function runBrowserContexts(options: { sessions: number; outDir: string }) {
  const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  // The engine's own flags; the host resolves no name, so a stray request cannot leave.
  const flags = [
    ...chromiumFlags(decideSandbox('auto', readSandboxFacts(chromiumPath))),
    '--host-resolver-rules=MAP * ~NOTFOUND',
  ];
  const html = await readFile(STANDIN_PAGE, 'utf8');
  const launch = (userDataDir: string, args: string[]) =>
    puppeteer.launch({ executablePath: chromiumPath, headless: true, args, userDataDir });
  const openStandIn = async (owner: Browser | BrowserContext) => {
    const page = await owner.newPage();
    await page.setRequestInterception(true);
    page.on('request', (request) =>
      request.url().startsWith('https://web.whatsapp.com/')
        ? void request.respond({ status: 200, contentType: 'text/html', body: html })
        : void request.abort(),
    );
    await page.goto('https://web.whatsapp.com/');
  };
  const measure = async (folder: string) => {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const memory = await chromiumMemory(folder);
    return { ...memory, pssPerSessionMb: Math.round((memory.pssMb / options.sessions) * 10) / 10 };
  };
  const arrangement = async (name: string, run: (folder: string) => Promise<Browser[]>) => {
    const folder = await mkdtemp(join(tmpdir(), `wa-contexts-${name}-`));
    const browsers = await run(folder);
    try {
      return await measure(folder);
    } finally {
      for (const browser of browsers) await browser.close();
      await rm(folder, { recursive: true, force: true });
    }
  };

  process.stderr.write(`[contexts] ${options.sessions} sessions, a Chromium each...\n`);
  const separate = await arrangement('separate', async (folder) => {
    const browsers: Browser[] = [];
    for (let i = 0; i < options.sessions; i += 1) {
      const browser = await launch(join(folder, `session-${i}`), flags);
      browsers.push(browser);
      await openStandIn(browser);
    }
    return browsers;
  });
  // Sessions of different tenants in one renderer process would share its memory: each context gets its own.
  const isolatedFlags = flags.filter((flag) => !flag.startsWith('--renderer-process-limit'));
  const contextsOf = (args: string[]) => async (folder: string) => {
    const browser = await launch(join(folder, 'host'), args);
    for (let i = 0; i < options.sessions; i += 1) await openStandIn(await browser.createBrowserContext());
    return [browser];
  };
  process.stderr.write('[contexts] one Chromium, a browser context (and renderer) each...\n');
  const contexts = await arrangement('contexts', contextsOf(isolatedFlags));
  process.stderr.write('[contexts] one Chromium, browser contexts sharing one renderer...\n');
  const sharedRenderer = await arrangement('shared-renderer', contextsOf(flags));
  const cut = (other: { pssMb: number }) => Math.round((1 - other.pssMb / separate.pssMb) * 100);
  const result = {
    when: new Date().toISOString(),
    command: `npm run bench -- --browser-contexts ${options.sessions}`,
    sessions: options.sessions,
    page: 'the WhatsApp Web stand-in (10 KB; WhatsApp Web itself holds 150-300 MB of page per session)',
    chromiumPerSession: separate,
    browserContextPerSession: { ...contexts, memoryCutPercent: cut(contexts) },
    browserContextsSharingOneRenderer: { ...sharedRenderer, memoryCutPercent: cut(sharedRenderer) },
  };
  const file = join(options.outDir, `bench-browser-contexts-${result.when.replace(/[:.]/g, '-')}.json`);
  await writeFile(file, JSON.stringify(result, null, 2));
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n(written to ${file})\n`);
  return result;
}

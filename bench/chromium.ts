import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type BrowserContext, type Page } from 'puppeteer';
import {
  chromiumFlags,
  decideSandbox,
  readSandboxFacts,
  untrimmedChromiumFlags,
} from '../engine/real/chromium-sandbox.js';
import { chromiumMemory, chromiumPids } from '../engine/real/chromium-memory.js';
import { cpuByPart, cpuSpent } from './cpu.js';

const STANDIN_PAGE = fileURLToPath(new URL('../engine/real/whatsapp-web-standin.html', import.meta.url));
const SETTLE_MS = 5_000;

/**
 * What a page the size of WhatsApp Web's holds, as the stand-in cannot: its script (parsed, compiled, its functions
 * kept), the objects that script keeps, and what it stores in IndexedDB (which is the profile a save copies).
 * Figures from WhatsApp Web in a desktop Chromium: a few MB of script, 100-200 MB of heap, tens of MB stored.
 */
const SIZED_PAGE = { scriptMb: 8, heapMb: 120, storedMb: 30 };

function sizedPageScript(): string {
  const functions: string[] = [];
  // About 8 MB of distinct functions, each called once so it is compiled, then kept reachable.
  const functionCount = Math.round((SIZED_PAGE.scriptMb * 1024 * 1024) / 200);
  for (let i = 0; i < functionCount; i += 1)
    functions.push(`function m${i}(a,b){const c=a*${i}+b;return c>${i}?[c,'m${i}',a+b]:{c,a,b,n:${i}};}`);
  return `${functions.join('\n')}
window.__modules = [];
for (let i = 0; i < ${functionCount}; i += 1) window.__modules.push(window['m' + i](i, 1));
window.__store = [];
for (let i = 0; i < ${SIZED_PAGE.heapMb * 1024}; i += 1)
  window.__store.push({ id: 'msg-' + i, body: 'x'.repeat(900) + i, at: Date.now(), read: i % 2 === 0 });
window.__stored = new Promise((resolve, reject) => {
  const open = indexedDB.open('model-storage', 1);
  open.onupgradeneeded = () => open.result.createObjectStore('message');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const transaction = open.result.transaction('message', 'readwrite');
    const chunk = 'y'.repeat(1024 * 1024);
    for (let i = 0; i < ${SIZED_PAGE.storedMb}; i += 1) transaction.objectStore('message').put(chunk + i, 'chunk-' + i);
    transaction.oncomplete = () => resolve(true);
    transaction.onerror = () => reject(transaction.error);
  };
});`;
}

interface Arrangement {
  name: string;
  what: string;
  flags: string[];
  /** One Chromium with a browser context per session instead of a Chromium per session. */
  contexts?: boolean;
  sizedPage?: boolean;
}

/**
 * `npm run bench -- --chromium N [--idle S]`: N sessions' Chromium, each on the WhatsApp Web stand-in answered from
 * memory (nothing leaves the machine), in several arrangements measured one after the other in the same run: the
 * processes per session, their memory (PSS, so what the sessions share counts once) and their idle CPU over S
 * seconds; the engine's flags against the untrimmed ones before them; one Chromium with a context per session; and
 * what a page of WhatsApp Web's size adds. Then whether a profile still keeps what a page stored across a restart of
 * its Chromium, which is how a login persists and moves.
 */
export async function runChromium(options: { sessions: number; idleSeconds: number; outDir: string }) {
  const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  const decision = decideSandbox('auto', readSandboxFacts(chromiumPath));
  // The host resolves no name, so a stray request cannot leave.
  const noNames = '--host-resolver-rules=MAP * ~NOTFOUND';
  const engineFlags = [...chromiumFlags(decision), noNames];
  const html = await readFile(STANDIN_PAGE, 'utf8');
  const sizedHtml = html.replace('</head>', '<script src="/sized-page.js"></script></head>');
  const sizedScript = sizedPageScript();
  const launch = (userDataDir: string, args: string[]) =>
    // A copy: puppeteer takes the feature flags out of the array it is given.
    puppeteer.launch({ executablePath: chromiumPath, headless: true, args: [...args], userDataDir });
  const openStandIn = async (page: Page, sized: boolean) => {
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      const url = request.url();
      if (url === 'https://web.whatsapp.com/sized-page.js')
        void request.respond({ status: 200, contentType: 'text/javascript', body: sizedScript });
      else if (url.startsWith('https://web.whatsapp.com/'))
        void request.respond({ status: 200, contentType: 'text/html', body: sized ? sizedHtml : html });
      else void request.abort();
    });
    await page.goto('https://web.whatsapp.com/');
    if (sized) await page.waitForFunction('window.__stored', { timeout: 120_000 });
  };
  // whatsapp-web.js drives the tab Chromium opens with, as here.
  const firstPage = async (browser: Browser) => (await browser.pages())[0] ?? browser.newPage();

  const measure = async (arrangement: Arrangement) => {
    const folder = await mkdtemp(join(tmpdir(), `wa-chromium-${arrangement.name}-`));
    const browsers: Browser[] = [];
    try {
      if (arrangement.contexts) {
        const browser = await launch(join(folder, 'host'), arrangement.flags);
        browsers.push(browser);
        for (let i = 0; i < options.sessions; i += 1) {
          const context: BrowserContext = await browser.createBrowserContext();
          await openStandIn(await context.newPage(), arrangement.sizedPage ?? false);
        }
      } else {
        for (let i = 0; i < options.sessions; i += 1) {
          const browser = await launch(join(folder, `session-${i}`), arrangement.flags);
          browsers.push(browser);
          await openStandIn(await firstPage(browser), arrangement.sizedPage ?? false);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const memory = await chromiumMemory(folder);
      // Each Chromium is a root of the part, so its helpers' CPU counts, reaped ones included.
      const roots = async () => ({ chromium: await chromiumPids(folder) });
      const before = cpuByPart(await roots());
      const startedAt = performance.now();
      await new Promise((resolve) => setTimeout(resolve, options.idleSeconds * 1000));
      const spent = cpuSpent(before, cpuByPart(await roots()));
      const idleMs = Object.values(spent).reduce((sum, ms) => sum + ms, 0);
      const wallMs = performance.now() - startedAt;
      const perSession = (value: number) => Math.round((value / options.sessions) * 10) / 10;
      return {
        what: arrangement.what,
        processesPerSession: perSession(memory.processes),
        pssMbPerSession: perSession(memory.pssMb),
        pssMbAll: memory.pssMb,
        rssMbAll: memory.rssMb,
        idlePercentOfOneCorePerSession: Math.round((idleMs / wallMs / options.sessions) * 100 * 1000) / 1000,
      };
    } finally {
      for (const browser of browsers) await browser.close();
      await rm(folder, { recursive: true, force: true });
    }
  };

  /** A page stores a value; its Chromium is closed and started again on the same profile: is the value there? */
  const profileKeepsStorage = async () => {
    const folder = await mkdtemp(join(tmpdir(), 'wa-chromium-profile-'));
    try {
      const first = await launch(folder, engineFlags);
      const page = await firstPage(first);
      await openStandIn(page, false);
      await page.evaluate(`new Promise((resolve, reject) => {
        const open = indexedDB.open('login', 1);
        open.onupgradeneeded = () => open.result.createObjectStore('keys');
        open.onsuccess = () => {
          const transaction = open.result.transaction('keys', 'readwrite');
          transaction.objectStore('keys').put('kept', 'noise');
          transaction.oncomplete = () => resolve(true);
          transaction.onerror = () => reject(transaction.error);
        };
      })`);
      await first.close();
      const second = await launch(folder, engineFlags);
      const again = await firstPage(second);
      await openStandIn(again, false);
      const value = await again.evaluate(`new Promise((resolve) => {
        const open = indexedDB.open('login', 1);
        open.onsuccess = () => {
          const read = open.result.transaction('keys').objectStore('keys').get('noise');
          read.onsuccess = () => resolve(read.result ?? null);
          read.onerror = () => resolve(null);
        };
        open.onerror = () => resolve(null);
      })`);
      await second.close();
      return value === 'kept';
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  };

  const arrangements: Arrangement[] = [
    {
      name: 'untrimmed',
      what: 'a Chromium per session, the flags before the trim (GPU, network, omnibox and spare renderers)',
      flags: [...untrimmedChromiumFlags(decision), noNames],
    },
    { name: 'engine', what: "a Chromium per session, the engine's flags", flags: engineFlags },
    {
      name: 'contexts',
      what: "one Chromium, a browser context (and renderer) per session, the engine's flags",
      // Sessions of different tenants in one renderer would share its memory: each context gets its own.
      flags: engineFlags.filter((flag) => !flag.startsWith('--renderer-process-limit')),
      contexts: true,
    },
    {
      name: 'engine-sized-page',
      what: `a Chromium per session, the engine's flags, a page of WhatsApp Web's size (${SIZED_PAGE.scriptMb} MB of script, ${SIZED_PAGE.heapMb} MB kept, ${SIZED_PAGE.storedMb} MB in IndexedDB)`,
      flags: engineFlags,
      sizedPage: true,
    },
  ];
  const measured: Record<string, Awaited<ReturnType<typeof measure>>> = {};
  for (const arrangement of arrangements) {
    process.stderr.write(`[chromium] ${options.sessions} sessions: ${arrangement.what}...\n`);
    measured[arrangement.name] = await measure(arrangement);
  }
  const untrimmed = measured.untrimmed;
  const engine = measured.engine;
  const ratio = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b ? Math.round((a / b) * 100) / 100 : null;
  process.stderr.write('[chromium] does a profile keep what its page stored across a restart?\n');
  const result = {
    when: new Date().toISOString(),
    command: `npm run bench -- --chromium ${options.sessions} --idle ${options.idleSeconds}`,
    machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30) },
    chromium: chromiumPath,
    sandbox: decision,
    sessions: options.sessions,
    idleSeconds: options.idleSeconds,
    page: 'the WhatsApp Web stand-in (10 KB), answered from memory',
    arrangements: measured,
    engineAgainstUntrimmed: {
      pss: ratio(engine?.pssMbPerSession, untrimmed?.pssMbPerSession),
      idleCpu: ratio(engine?.idlePercentOfOneCorePerSession, untrimmed?.idlePercentOfOneCorePerSession),
    },
    profileKeepsStorageAcrossRestart: await profileKeepsStorage(),
  };
  const file = join(options.outDir, `bench-chromium-${result.when.replace(/[:.]/g, '-')}.json`);
  await writeFile(file, JSON.stringify(result, null, 2));
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n(written to ${file})\n`);
  return result;
}

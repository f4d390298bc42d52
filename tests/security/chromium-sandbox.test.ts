import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import puppeteer from 'puppeteer';
import {
  chromiumFlags,
  decideSandbox,
  readSandboxFacts,
  type SandboxDecision,
  type SandboxFacts,
} from '../../engine/real/chromium-sandbox.js';

const OPEN_HOST: SandboxFacts = {
  uid: 1000,
  maxUserNamespaces: 63_000,
  unprivilegedUserNamespaces: 1,
  apparmorRestrictsUserNamespaces: null,
  setuidHelper: false,
};
const NOBODY = 65_534;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('Chromium sandbox: the decision', () => {
  it('auto sandboxes a non-root worker on a host with user namespaces, and names why not elsewhere', () => {
    assert.equal(decideSandbox('auto', OPEN_HOST).sandbox, true);
    assert.match(decideSandbox('auto', { ...OPEN_HOST, uid: 0 }).reason, /root/);
    assert.match(decideSandbox('auto', { ...OPEN_HOST, maxUserNamespaces: 0 }).reason, /max_user_namespaces/);
    assert.match(decideSandbox('auto', { ...OPEN_HOST, unprivilegedUserNamespaces: 0 }).reason, /userns_clone/);
    assert.match(decideSandbox('auto', { ...OPEN_HOST, apparmorRestrictsUserNamespaces: 1 }).reason, /AppArmor/);
    assert.equal(decideSandbox('auto', { ...OPEN_HOST, maxUserNamespaces: 0, setuidHelper: true }).sandbox, true);
  });

  it('on refuses to start where it cannot sandbox; off never sandboxes', () => {
    assert.throws(() => decideSandbox('on', { ...OPEN_HOST, uid: 0 }), /cannot sandbox here: the worker runs as root/);
    assert.equal(decideSandbox('off', OPEN_HOST).sandbox, false);
  });

  it('only an unsandboxed Chromium gets --no-sandbox (and --no-zygote, which it allows only then)', () => {
    const sandboxed = chromiumFlags({ sandbox: true, reason: '' });
    assert.ok(!sandboxed.includes('--no-sandbox') && !sandboxed.includes('--no-zygote'));
    assert.ok(chromiumFlags({ sandbox: false, reason: '' }).includes('--no-sandbox'));
  });

  it('only an unsandboxed Chromium runs its GPU and network helpers inside the browser process', () => {
    const inBrowser = ['--in-process-gpu', '--enable-features=NetworkServiceInProcess2'];
    const sandboxed = chromiumFlags({ sandbox: true, reason: '' });
    assert.ok(inBrowser.every((flag) => !sandboxed.includes(flag)));
    const unsandboxed = chromiumFlags({ sandbox: false, reason: '' });
    assert.ok(inBrowser.every((flag) => unsandboxed.includes(flag)));
  });
});

/** The seccomp mode of every process under `rootPid` (2: a seccomp filter, what Chromium's sandbox installs). */
async function seccompModesUnder(rootPid: number): Promise<number[]> {
  const parents = new Map<number, number>();
  const modes = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await readFile(`/proc/${entry}/status`, 'utf8').catch(() => '');
    const parent = /^PPid:\s+(\d+)/m.exec(status)?.[1];
    const seccomp = /^Seccomp:\s+(\d+)/m.exec(status)?.[1];
    if (parent !== undefined) parents.set(Number(entry), Number(parent));
    if (seccomp !== undefined) modes.set(Number(entry), Number(seccomp));
  }
  const under = (pid: number): boolean => {
    for (let current = parents.get(pid); current !== undefined && current > 1; current = parents.get(current)) {
      if (current === rootPid) return true;
    }
    return false;
  };
  return [...modes].filter(([pid]) => under(pid)).map(([, mode]) => mode);
}

/** Launches Chromium with the engine's flags as user nobody (a worker that is not root), opens a page. */
async function renderersOf(decision: SandboxDecision): Promise<number[]> {
  const dir = await mkdtemp(join(tmpdir(), 'sandbox-test-'));
  try {
    await chmod(dir, 0o777);
    const wrapper = join(dir, 'chromium-as-nobody');
    await writeFile(
      wrapper,
      `#!/bin/sh\nexec setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups ${CHROMIUM} "$@"\n`,
      { mode: 0o755 },
    );
    const browser = await puppeteer.launch({
      executablePath: wrapper,
      headless: true,
      userDataDir: join(dir, 'profile'),
      args: chromiumFlags(decision),
      env: { ...process.env, HOME: dir },
    });
    try {
      const page = await browser.newPage();
      await page.goto('data:text/html,<p>hello</p>');
      const pid = browser.process()?.pid;
      assert.ok(pid);
      return await seccompModesUnder(pid);
    } finally {
      await browser.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('Chromium sandbox: a real Chromium', () => {
  const asRoot = process.getuid?.() === 0;
  const hostAllows = decideSandbox('auto', { ...readSandboxFacts(CHROMIUM), uid: NOBODY }).sandbox;

  it(
    'with the flags a non-root worker gets, its page runs under a seccomp filter; with --no-sandbox it does not',
    { skip: !asRoot || !hostAllows ? 'needs root (to run Chromium as nobody) on a host with user namespaces' : false },
    async () => {
      const sandboxed = await renderersOf({ sandbox: true, reason: 'test' });
      assert.ok(sandboxed.includes(2), `seccomp modes under the sandboxed browser: ${sandboxed.join(',')}`);
      const unsandboxed = await renderersOf({ sandbox: false, reason: 'test' });
      assert.ok(!unsandboxed.includes(2), `seccomp modes under the unsandboxed browser: ${unsandboxed.join(',')}`);
    },
  );
});

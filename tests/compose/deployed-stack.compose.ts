import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import { findFreePort } from '../../infra/ports.js';
import { accountWorkflowId } from '../../workflows/ids.js';
import { ComposeProject, sleep } from './compose-project.js';

/**
 * docker-compose.yml run as users run it (with docker-compose.local.yml's images), from nothing to connected accounts
 * and back to nothing: readiness as an operator sees it, Temporal closed to clients without a certificate, an
 * account connected through the published port, the worker container restarted and a fleet of three worker
 * containers with one killed, then the real engine's Chromium sandboxed inside the image. Every step has a bound;
 * the figures are printed. Traffic stays on this machine: the containers' own networks and the API on 127.0.0.1.
 */
const TEMPORAL_IMAGE = 'localhost/wa-connect-temporal:v1.29.1';
const WORKSPACE = 'compose';
// Each host starts at most 2 sessions a second: claims made together spread over the hosts polling for them.
const SIMULATED = {
  WA_ENGINE: 'simulated',
  SIM_TIME_SCALE: '0.1',
  SESSION_LEASE_TTL_MS: '15000',
  HOST_SESSION_STARTS_PER_SECOND: '2',
};

interface Account {
  sessionId: string;
  status: string;
  statusChangedAt: string;
  phoneNumber: string | null;
  detail: string;
}
interface FleetReport {
  clientsByHost: Record<string, number>;
  twoOwners: number;
  /** Each pair of clients of one session that overlapped: which epochs, on which hosts. */
  overlaps: unknown[];
  qrShown: number;
  failed: number;
}

const project = new ComposeProject(await findFreePort('127.0.0.1'));
let adminKey = '';
let auditor = '';
/** The host the fleet case kills outright: its clients never wrote their end, they ended when it died. */
let killed: { host: string; at: number } | null = null;
const figures: Record<string, string> = {};

async function api<T>(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T; retryAfterSeconds: number | null }> {
  const response = await fetch(`${project.apiUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${adminKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  const retryAfter = response.headers.get('retry-after');
  return {
    status: response.status,
    body: (text ? JSON.parse(text) : null) as T,
    retryAfterSeconds: retryAfter === null ? null : Number(retryAfter),
  };
}

/**
 * Sends a request as a client should: a 503 names an unreachable dependency and the time to come back, so the same
 * request goes again after it (a create is the same account; a restart whose first try did arrive restarts twice).
 * Podman's DNS, for one, stalls lookups for seconds while containers join the networks, so a connection the API opens
 * then to PostgreSQL or Temporal may time out. The retries are counted in the figures.
 */
async function send<T>(method: string, path: string, body?: unknown): ReturnType<typeof api<T>> {
  for (let retries = 0; ; retries += 1) {
    const answer = await api<T>(method, path, body);
    if (answer.status !== 503 || retries === 5) return answer;
    assert.ok(answer.retryAfterSeconds !== null && answer.retryAfterSeconds > 0, 'a 503 says when to come back');
    figures.retriesAfter503 = String(Number(figures.retriesAfter503 ?? 0) + 1);
    await sleep(answer.retryAfterSeconds * 1_000);
  }
}

async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await sleep(1_000);
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s${last ? ` (last error: ${last})` : ''}`);
}

/** Waits as an operator does: the API answers /ready with 200 on the published port. */
async function ready(timeoutMs: number): Promise<number> {
  const startedAt = Date.now();
  await until('the API ready on its published port', timeoutMs, async () => {
    const response = await fetch(`${project.apiUrl}/ready`, { signal: AbortSignal.timeout(5_000) });
    return response.status === 200;
  });
  return Date.now() - startedAt;
}

const account = async (sessionId: string, workspace = WORKSPACE) =>
  (await api<Account>('GET', `/v1/workspaces/${workspace}/accounts/${sessionId}`)).body;

async function connect(sessionId: string, phone: string, workspace = WORKSPACE): Promise<void> {
  const created = await send<Account>('POST', `/v1/workspaces/${workspace}/accounts`, { sessionId });
  assert.ok(created.status === 201 || created.status === 200, `create ${sessionId}: ${created.status}`);
  await until(`${sessionId} applies the scan`, 120_000, async () => {
    const scan = await api<{ applied?: boolean }>('POST', `/v1/simulator/sessions/${sessionId}/scan`, { phone });
    return scan.status === 200 && scan.body.applied;
  });
  try {
    await until(
      `${sessionId} connected`,
      120_000,
      async () => (await account(sessionId, workspace)).status === 'connected',
    );
  } catch (error) {
    // What an operator would read about the account (its row, events, workflow), kept beside the containers' logs.
    const diagnostics = await api('GET', `/v1/workspaces/${workspace}/accounts/${sessionId}/diagnostics`).catch(
      (failure: unknown) => ({ body: String(failure) }),
    );
    await mkdir('test-output', { recursive: true });
    await writeFile(`test-output/compose-${sessionId}-diagnostics.json`, JSON.stringify(diagnostics.body, null, 2));
    throw error;
  }
}

/**
 * The fleet's audit, read by the auditor container (the rows as the service wrote them; the auditor is made again
 * when a read fails, as after PostgreSQL's restart). A host killed outright wrote no end for its clients: they ended
 * when it died.
 */
async function report(): Promise<FleetReport> {
  const killedArgs = killed ? ['--killed-host', killed.host, '--killed-at', String(killed.at)] : [];
  return until('the fleet report', 60_000, async () => {
    const line = await project
      .execIn(auditor, [
        'node',
        '--import',
        'tsx',
        'scripts/fleet-report.ts',
        '--workspace',
        WORKSPACE,
        '--sessions',
        'compose-',
        ...killedArgs,
      ])
      .catch(async (error: unknown) => {
        auditor = await project.startAuditor();
        throw error;
      });
    return JSON.parse(line.trim().split('\n').at(-1) ?? '{}') as FleetReport;
  });
}

/** The status of every account of the workspace, in one request (a poll must stay far below the key's rate). */
async function statuses(workspace = WORKSPACE): Promise<Map<string, string>> {
  const page = await api<{ items: Account[] }>('GET', `/v1/workspaces/${workspace}/accounts?limit=200`);
  assert.equal(page.status, 200, `list accounts: ${page.status}`);
  return new Map(page.body.items.map((item) => [item.sessionId, item.status]));
}

/** Every listed account connected, each with one running client, none of them on `goneHost`. */
async function allConnected(sessionIds: string[], goneHost: string, timeoutMs: number): Promise<FleetReport> {
  let seen = 'nothing yet';
  try {
    return await until(`${sessionIds.length} accounts connected`, timeoutMs, async () => {
      const now = await statuses();
      const notConnected = sessionIds.filter((id) => now.get(id) !== 'connected');
      const fleet = await report();
      seen = JSON.stringify({ notConnected, clientsByHost: fleet.clientsByHost });
      const running = Object.values(fleet.clientsByHost).reduce((a, b) => a + b, 0);
      const settled = notConnected.length === 0 && running === sessionIds.length && !(goneHost in fleet.clientsByHost);
      return settled ? fleet : undefined;
    });
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}; last seen: ${seen}`, {
      cause: error,
    });
  }
}

/**
 * The audit once it is whole: a host that lost the database stopped its clients but could write their ends (with
 * the time its leases were last known valid) only once the database answered it again, at its next renewal. Until
 * then those clients count as running. Bounded; a real overlap stays and fails.
 */
async function wholeAudit(): Promise<FleetReport> {
  let last: FleetReport | undefined;
  try {
    return await until('every stopped client recorded, no two owners', 60_000, async () => {
      last = await report();
      return last.twoOwners === 0 ? last : undefined;
    });
  } catch {
    return last ?? report();
  }
}

function assertOneOwner(fleet: FleetReport): void {
  assert.equal(fleet.twoOwners, 0, `no session had two owners: ${JSON.stringify(fleet.overlaps)}`);
}

/**
 * The session connected and run by a worker process that did not run it before: a host's name carries a new id for
 * every process, so a restart cannot pass for the session's old client still counted.
 */
async function backOnANewProcess(sessionId: string, hostsBefore: string[], timeoutMs: number): Promise<void> {
  await until(`${sessionId} connected on a new worker process`, timeoutMs, async () => {
    const hosts = Object.keys((await report()).clientsByHost);
    const fresh = hosts.length === 1 && !hostsBefore.includes(hosts[0] ?? '');
    return fresh && (await account(sessionId)).status === 'connected';
  });
}

/** The worker container whose host name is in the host's queue name. */
/**
 * Restarts every account (a command that needs its workflow and its host) and waits until each has left the status it
 * had: the wait for them to be connected again is then not true before the restarts.
 */
async function restartEvery(sessionIds: string[]): Promise<void> {
  const page = await send<{ items: Account[] }>('GET', `/v1/workspaces/${WORKSPACE}/accounts?limit=200`);
  assert.equal(page.status, 200, `list accounts: ${page.status}`);
  const changedBefore = new Map(page.body.items.map((item) => [item.sessionId, item.statusChangedAt]));
  for (const sessionId of sessionIds)
    assert.equal((await send('POST', `/v1/workspaces/${WORKSPACE}/accounts/${sessionId}/restart`)).status, 202);
  let unchanged: Account[] = [];
  try {
    await until('every account restarted', 180_000, async () => {
      const now = await api<{ items: Account[] }>('GET', `/v1/workspaces/${WORKSPACE}/accounts?limit=200`);
      unchanged = now.body.items.filter(
        (item) => sessionIds.includes(item.sessionId) && item.statusChangedAt === changedBefore.get(item.sessionId),
      );
      return unchanged.length === 0;
    });
  } catch (error) {
    // Which rows never left the status they had, and what an operator would read about the first of them.
    const [first] = unchanged;
    if (first) {
      const diagnostics = await api('GET', `/v1/workspaces/${WORKSPACE}/accounts/${first.sessionId}/diagnostics`);
      console.log(`${first.sessionId}, not restarted:`, JSON.stringify(diagnostics.body).slice(0, 6_000));
    }
    throw new Error(
      `${String(error)}: ${unchanged.map((item) => `${item.sessionId} ${item.status} (${item.detail})`).join('; ')}`,
      { cause: error },
    );
  }
}

async function containerOfHost(host: string): Promise<string> {
  for (const container of await project.containers('worker'))
    if (host.includes(await project.hostnameOf(container))) return container;
  throw new Error(`no worker container runs host ${host}`);
}

describe('docker-compose.yml, deployed', { timeout: 40 * 60_000 }, () => {
  const connected: string[] = [];

  before(async () => {
    await project.startEngine();
    process.once('SIGINT', () => void project.down().then(() => process.exit(130)));
    process.once('SIGTERM', () => void project.down().then(() => process.exit(143)));
  });

  // Each container's log as it stands after every case, for a failure to be read even when a later case removed it.
  afterEach(() => project.keepLogs('test-output/compose-containers'));

  after(async () => {
    // Every container's log, for a failure to be read after the project is gone.
    await mkdir('test-output', { recursive: true });
    await writeFile(
      'test-output/compose-stack.log',
      await project.compose(['logs', '--no-color', '--timestamps']).catch((error: unknown) => String(error)),
    );
    if (process.env.KEEP_TEST_DATA === '1') return;
    await project.down();
    const left = await Promise.all(
      (['container', 'network', 'volume'] as const).map(async (kind) => project.leftBehind(kind)),
    );
    await project.stopEngine();
    process.stdout.write(`\ncompose figures:\n${JSON.stringify(figures, null, 2)}\n`);
    assert.deepEqual(left.flat(), [], 'no container, network or volume of the project is left');
  });

  it('comes up from nothing: certificates, database, schema, Temporal, namespace, migrations, worker, API', async () => {
    for (const image of ['wa-connect:local', 'wa-connect-temporal:v1.29.1', 'wa-connect-postgres:15']) {
      const bytes = Number(await project.podman('image', 'inspect', '--format', '{{.Size}}', `localhost/${image}`));
      figures[`image ${image} MB`] = (bytes / 1e6).toFixed(0);
    }
    await project.configure({ worker: SIMULATED, api: { WA_ENGINE: 'simulated' } });
    const startedAt = Date.now();
    await project.up();
    await ready(5 * 60_000);
    figures.coldToReadySeconds = ((Date.now() - startedAt) / 1000).toFixed(1);
    auditor = await project.startAuditor();
    const [api] = await project.containers('api');
    assert.ok(api);
    adminKey = await until('an admin key from the API container', 120_000, async () => {
      const printed = await project.execIn(api, [
        'node',
        '--import',
        'tsx',
        'scripts/api-keys.ts',
        'create',
        '--admin',
      ]);
      return printed.trim().split('\n').at(-1);
    });
    assert.match(adminKey, /^wak_/);
  });

  it('connects an account through the published port (simulated engine)', async () => {
    const startedAt = Date.now();
    await connect('compose-1', '62811000001');
    figures.firstConnectionSeconds = ((Date.now() - startedAt) / 1000).toFixed(1);
    connected.push('compose-1');
    const fleet = await report();
    assert.equal(fleet.qrShown >= 1, true);
    assert.equal(fleet.failed, 0);
  });

  it("refuses a client without the stack's certificate on Temporal's network, for signal, terminate and reset", async () => {
    const workflow = accountWorkflowId(WORKSPACE, 'compose-1');
    const address = ['--address', 'temporal:7233'];
    const withoutCertificate = [...address, '--tls-ca-path', '/tls/ca.pem', '--tls-server-name', 'temporal'];
    const attempts = {
      plaintextSignal: ['workflow', 'signal', ...address, '-w', workflow, '--name', 'deleteAccount'],
      signal: ['workflow', 'signal', ...withoutCertificate, '-w', workflow, '--name', 'deleteAccount'],
      terminate: ['workflow', 'terminate', ...withoutCertificate, '-w', workflow, '--reason', 'stranger'],
      reset: [
        'workflow',
        'reset',
        ...withoutCertificate,
        '-w',
        workflow,
        '--type',
        'FirstWorkflowTask',
        '--reason',
        'x',
      ],
    };
    for (const [name, args] of Object.entries(attempts)) {
      // The admin role's volume, for its CA only: this client presents no certificate.
      const attempt = await project.runOnNetwork(
        'temporal',
        TEMPORAL_IMAGE,
        ['temporal', ...args],
        ['tls-temporal-admin:/tls:ro'],
      );
      assert.notEqual(attempt.code, 0, `${name} is refused`);
      assert.match(attempt.output, /failed reaching server/, `${name}: ${attempt.output}`);
    }
    // The UI server (which holds a certificate) is not reachable from Temporal's network either.
    const ui = await project.runOnNetwork('temporal', 'localhost/wa-connect:local', [
      'node',
      '-e',
      "fetch('http://temporal-ui:8080/temporal/').then(() => process.exit(0), () => process.exit(1))",
    ]);
    assert.notEqual(ui.code, 0, 'the UI server is out of reach');

    // With the worker's certificate Temporal answers; a bare command signal carries no proof and changes nothing.
    const worker = [
      ...withoutCertificate,
      '--tls-cert-path',
      '/tls/cert.pem',
      '--tls-key-path',
      '/tls/key.pem',
      '-w',
      workflow,
    ];
    const describeRun = await project.runOnNetwork(
      'temporal',
      TEMPORAL_IMAGE,
      ['temporal', 'workflow', 'describe', ...worker],
      ['tls-worker:/tls:ro'],
    );
    assert.equal(describeRun.code, 0, describeRun.output);
    const bare = await project.runOnNetwork(
      'temporal',
      TEMPORAL_IMAGE,
      ['temporal', 'workflow', 'signal', ...worker, '--name', 'deleteAccount'],
      ['tls-worker:/tls:ro'],
    );
    assert.equal(bare.code, 0, bare.output);
    await sleep(3_000);
    assert.equal((await account('compose-1')).status, 'connected', 'the bare deleteAccount changed nothing');
  });

  it('brings a session back after the worker container restarts, without a scan', async () => {
    const before = await report();
    const startedAt = Date.now();
    await project.compose(['restart', '--timeout', '60', 'worker']);
    await backOnANewProcess('compose-1', Object.keys(before.clientsByHost), 120_000);
    figures.workerRestartBackSeconds = ((Date.now() - startedAt) / 1000).toFixed(1);
    const after = await report();
    assert.equal(after.qrShown, before.qrShown, 'no new QR: nobody scanned again');
    assertOneOwner(after);
  });

  it('spreads sessions over three worker containers; one killed, its sessions connect on the others', async () => {
    await project.up('--scale', 'worker=3');
    await until('three worker containers', 120_000, async () => (await project.containers('worker')).length === 3);
    // A new container takes claims once it runs and its database answers it: as an operator sees it, three running
    // hosts in the fleet view (a host stopped by an earlier case is listed as stopped).
    await until('three running hosts in the fleet view', 120_000, async () => {
      const hosts = await api<{ items: Array<{ state: string }> }>('GET', '/v1/admin/hosts');
      return hosts.status === 200 && hosts.body.items.filter((host) => host.state === 'running').length === 3;
    });
    // Three hosts poll one queue, each at its start pace: accounts created together land on all of them. Add a
    // batch at a time until every host holds some: at most four, 25 creations with compose-1, inside the key's
    // budget of 30 a minute.
    let fleet = await report();
    for (let batch = 0; batch < 4 && Object.keys(fleet.clientsByHost).length < 3; batch++) {
      const sessionIds = Array.from({ length: 6 }, (_, i) => `compose-${2 + batch * 6 + i}`);
      await Promise.all(
        sessionIds.map((id) => connect(id, `628110000${id.slice('compose-'.length).padStart(2, '0')}`)),
      );
      connected.push(...sessionIds);
      fleet = await report();
    }
    assert.equal(Object.keys(fleet.clientsByHost).length, 3, `sessions on three hosts: ${JSON.stringify(fleet)}`);

    const [fullestHost, moving] = Object.entries(fleet.clientsByHost).sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
    const victim = await containerOfHost(fullestHost);
    const killedAt = Date.now();
    await project.podman('kill', victim);
    killed = { host: fullestHost, at: killedAt };
    // Until the killed host's leases lapse its sessions still read connected: wait for them to run elsewhere.
    const settled = await allConnected(connected, fullestHost, 180_000);
    figures.killedHostSessions = String(moving);
    figures.killedHostAllBackSeconds = ((Date.now() - killedAt) / 1000).toFixed(1);
    assert.equal(settled.qrShown, fleet.qrShown, 'no new QR after the kill');
    assertOneOwner(settled);
    assert.equal(settled.failed, 0);
    await project.podman('rm', '-f', victim);
  });

  it('a host cut from PostgreSQL but reaching Temporal stops its clients; the others take its sessions', async () => {
    const fleet = await report();
    const [cutHost] = Object.entries(fleet.clientsByHost).sort((a, b) => b[1] - a[1])[0] ?? [''];
    const container = await containerOfHost(cutHost);
    const cutAt = Date.now();
    await project.network('disconnect', 'data', container);
    let moved: FleetReport;
    try {
      moved = await allConnected(connected, cutHost, 180_000);
      figures.cutFromDatabaseMovedSessions = String(fleet.clientsByHost[cutHost]);
      figures.cutFromDatabaseAllBackSeconds = ((Date.now() - cutAt) / 1000).toFixed(1);
    } finally {
      await project.network('connect', 'data', container);
    }
    assert.equal(moved.qrShown, fleet.qrShown, 'no rescan');
    assert.equal(moved.failed, 0);
    assertOneOwner(await wholeAudit());
  });

  it('a host cut from Temporal but reaching PostgreSQL keeps its sessions, lets them go when they restart while it stays cut, and takes commands again once back', async () => {
    const fleet = await report();
    const [cutHost] = Object.entries(fleet.clientsByHost).sort((a, b) => b[1] - a[1])[0] ?? [''];
    const container = await containerOfHost(cutHost);
    await project.network('disconnect', 'temporal', container);
    try {
      await sleep(20_000);
      const during = await report();
      assert.equal(during.clientsByHost[cutHost], fleet.clientsByHost[cutHost], 'its sessions still run there');
      // Every account restarts while the host stays cut: the stops never reach it through Temporal, so they are
      // written on the sessions' leases, and the host lets go at its next renewal.
      const restartedAt = Date.now();
      await restartEvery(connected);
      await allConnected(connected, cutHost, 180_000);
      figures.cutFromTemporalLetGoAllSeconds = ((Date.now() - restartedAt) / 1000).toFixed(1);
    } finally {
      await project.network('connect', 'temporal', container);
    }
    // Back on Temporal's network: every account restarts once more, and each comes up on whichever host takes it.
    const backAt = Date.now();
    await restartEvery(connected);
    const settled = await allConnected(connected, '', 180_000);
    figures.cutFromTemporalRestartedAllSeconds = ((Date.now() - backAt) / 1000).toFixed(1);
    assertOneOwner(await wholeAudit());
    assert.equal(settled.qrShown, fleet.qrShown, 'no rescan');
    assert.equal(settled.failed, 0);
  });

  it('the API cut from PostgreSQL answers 503 problem details, loses nothing and recovers without a restart', async () => {
    const [apiContainer] = await project.containers('api');
    assert.ok(apiContainer);
    await project.network('disconnect', 'data', apiContainer);
    const cutAt = Date.now();
    try {
      await until('/ready answers 503', 60_000, async () => {
        const response = await fetch(`${project.apiUrl}/ready`, { signal: AbortSignal.timeout(10_000) });
        return response.status === 503;
      });
      const readStartedAt = Date.now();
      const read = await fetch(`${project.apiUrl}/v1/workspaces/${WORKSPACE}/accounts/compose-1`, {
        headers: { authorization: `Bearer ${adminKey}` },
        signal: AbortSignal.timeout(60_000),
      }).catch(() => {
        throw new Error('a read without the database got no answer within 60 s');
      });
      figures.apiReadWithoutDatabaseSeconds = ((Date.now() - readStartedAt) / 1000).toFixed(1);
      assert.ok(read.status >= 500, `a read without the database fails: ${read.status}`);
      assert.match(read.headers.get('content-type') ?? '', /application\/problem\+json/);
      const problem = (await read.json()) as { code?: string; stack?: unknown };
      assert.ok(problem.code, 'a stable code');
      assert.equal(problem.stack, undefined, 'no stack trace');
    } finally {
      await project.network('connect', 'data', apiContainer);
    }
    figures.apiRecoveredAfterSeconds = ((Date.now() - cutAt) / 1000).toFixed(1);
    await ready(120_000);
    assert.equal((await account('compose-1')).status, 'connected', 'the rows are as they were');
  });

  it('PostgreSQL restarted while accounts connect: every one connects, none lost, none of the others rescanned', async () => {
    const fleet = await report();
    // The new accounts live in a workspace of their own: their QR codes (a new one whenever a start is retried)
    // are not counted with the connected accounts', which must show none.
    const fresh = ['pg-1', 'pg-2', 'pg-3', 'pg-4'];
    const [database] = await project.containers('postgresql');
    assert.ok(database);
    const restartedAt = Date.now();
    const connecting = Promise.all(fresh.map((id, i) => connect(id, `62811000${70 + i}`, `${WORKSPACE}-pg`)));
    await sleep(500);
    await project.podman('restart', '--time', '10', database);
    await connecting;
    const settled = await allConnected(connected, '', 240_000);
    figures.postgresRestartAllConnectedSeconds = ((Date.now() - restartedAt) / 1000).toFixed(1);
    assertOneOwner(await wholeAudit());
    assert.equal(settled.qrShown, fleet.qrShown, 'no connected account was asked to scan again');
    assert.equal(settled.failed, 0);
    for (const id of fresh) assert.equal((await account(id, `${WORKSPACE}-pg`)).status, 'connected');
  });

  it('starts Chromium inside the image with its sandbox on, and connects an account with the real engine', async () => {
    for (const sessionId of connected)
      assert.equal((await send('DELETE', `/v1/workspaces/${WORKSPACE}/accounts/${sessionId}`)).status < 300, true);
    // Chromium resolves no name at all: the stand-in page is served from the build cache, nothing leaves the machine.
    const real = {
      WA_ENGINE: 'real',
      WA_WEB: 'standin',
      CHROMIUM_SANDBOX: 'on',
      CHROMIUM_HOST_RESOLVER_RULES: 'MAP * ~NOTFOUND',
      SESSION_LEASE_TTL_MS: '15000',
    };
    await project.configure({ worker: real, api: { WA_ENGINE: 'real', WA_WEB: 'standin' } });
    await project.up('--scale', 'worker=1');
    await ready(120_000);
    await until('one worker container', 120_000, async () => (await project.containers('worker')).length === 1);
    const startedAt = Date.now();
    await connect('compose-real', '62811000099');
    figures.realEngineConnectionSeconds = ((Date.now() - startedAt) / 1000).toFixed(1);
    const [worker] = await project.containers('worker');
    assert.ok(worker);
    // Chromium's renderers under the worker's user, in the sandbox: seccomp filter on (mode 2) and their own
    // user namespace.
    const renderers = await project.execIn(worker, [
      'sh',
      '-c',
      'for p in $(pgrep -f -- "--type=renderer"); do grep "^Seccomp:" /proc/$p/status; readlink /proc/$p/ns/user; done; readlink /proc/1/ns/user',
    ]);
    const lines = renderers.trim().split('\n');
    const workerNamespace = lines.at(-1);
    assert.ok(
      lines.some((line) => /^Seccomp:\s+2$/.test(line)),
      `a renderer under seccomp: ${renderers}`,
    );
    assert.ok(
      lines.some((line) => line.startsWith('user:[') && line !== workerNamespace),
      `a renderer in a user namespace of its own: ${renderers}`,
    );

    // The login is saved when the session is ready and again 6, 15 and 30 s later, as Chromium commits what the
    // page stored: a restart sooner could find an older copy.
    await sleep(32_000);
    const before = await report();
    await project.compose(['restart', '--timeout', '60', 'worker']);
    await backOnANewProcess('compose-real', Object.keys(before.clientsByHost), 180_000);
    assert.equal((await report()).qrShown, before.qrShown, 'restored from the saved login, no scan');
  });

  it('comes back as it was after the whole stack stops and starts (warm start)', async () => {
    const hostsBefore = Object.keys((await report()).clientsByHost);
    await project.compose(['stop', '--timeout', '60']);
    const startedAt = Date.now();
    await project.up();
    await ready(5 * 60_000);
    figures.warmToReadySeconds = ((Date.now() - startedAt) / 1000).toFixed(1);
    await backOnANewProcess('compose-real', hostsBefore, 180_000);
  });
});

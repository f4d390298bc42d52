import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { TEMPORAL_SERVER_TUNING } from '../../infra/temporal-dev-server.js';
import { temporalServerArgs, temporalUiArgs } from '../../infra/temporal-server.js';
import { TEMPORAL_UI_CODEC_ENDPOINT, TEMPORAL_UI_PUBLIC_PATH } from '../../lib/temporal-ui.js';
import { SEARCH_ATTRIBUTE_DECLARATIONS } from '../../workflows/search-attributes.js';

interface ComposeService {
  networks?: string[];
  image?: string;
  entrypoint?: unknown;
  volumes?: string[];
  ports?: string[];
  build?: unknown;
  command?: unknown;
  environment?: Record<string, unknown>;
  depends_on?: Record<string, { condition: string }>;
}

describe('docker-compose.yml (production shape; `npm run test:compose` runs it)', async () => {
  const compose = parse(await readFile('docker-compose.yml', 'utf8'), { merge: true }) as {
    services: Record<string, ComposeService>;
  };
  const readme = await readFile('docs/deploy.md', 'utf8');

  it('has every service docs/deploy.md names', () => {
    const named = [...readme.matchAll(/^\| `([a-z-]+)` \|/gm)].map((match) => match[1]);
    assert.ok(named.length >= 6, `docs/deploy.md lists compose services in its table: ${named.join(', ')}`);
    for (const service of named)
      assert.ok(service && compose.services[service], `service ${service} is in docker-compose.yml`);
  });

  it('requires a certificate of its own CA from every client of Temporal, and gives each role its own', () => {
    const server = compose.services.temporal?.environment ?? {};
    assert.ok(server.TEMPORAL_TLS_SERVER_CERT && server.TEMPORAL_TLS_SERVER_KEY, 'the server has mutual TLS on');
    const clients = Object.entries(compose.services).filter(([, service]) =>
      Object.values(service.environment ?? {}).some((value) => String(value).startsWith('temporal:7233')),
    );
    assert.ok(clients.length >= 4, clients.map(([name]) => name).join(', '));
    const volumes = new Set<string>();
    for (const [name, service] of clients) {
      assert.ok(service.environment?.TEMPORAL_TLS_CERT && service.environment.TEMPORAL_TLS_KEY, `${name} presents one`);
      const tls = (service.volumes ?? []).find((volume) => volume.endsWith(':/etc/wa-connect/tls:ro'));
      assert.ok(tls, `${name} mounts its certificate read-only`);
      volumes.add(tls.split(':')[0] ?? '');
    }
    assert.equal(volumes.size, clients.length, 'no two roles share a certificate');
  });

  it('publishes only the API; Temporal and its UI stay on the compose network', () => {
    const published = Object.entries(compose.services).flatMap(([name, service]) =>
      (service.ports ?? []).map((port) => ({ name, port: String(port) })),
    );
    assert.deepEqual(
      published.map(({ name }) => name),
      ['api'],
    );
  });

  it('the worker and the API share only the temporal network with Temporal, and the services that need only PostgreSQL none', () => {
    const networksOf = (name: string) => new Set(compose.services[name]?.networks ?? []);
    const temporal = networksOf('temporal');
    const sharedWithTemporal = (name: string) => [...networksOf(name)].filter((network) => temporal.has(network));
    assert.deepEqual(sharedWithTemporal('worker'), ['temporal']);
    assert.deepEqual(sharedWithTemporal('api'), ['temporal']);
    assert.deepEqual(sharedWithTemporal('migrate'), []);
    assert.deepEqual(sharedWithTemporal('postgresql'), ['temporal-data'], 'Temporal reaches its databases');
  });

  it('runs Temporal from the files the production topology runs: schema script, server config, namespace script', async () => {
    const schema = compose.services['temporal-schema'];
    assert.deepEqual(schema?.entrypoint, ['sh', '/etc/wa-connect/temporal/setup-schema.sh']);
    assert.deepEqual(schema?.volumes, ['./infra/temporal:/etc/wa-connect/temporal:ro']);
    const server = compose.services.temporal;
    assert.deepEqual(server?.entrypoint, ['temporal-server', ...temporalServerArgs('/etc/wa-connect/temporal/config')]);
    assert.ok(server?.volumes?.includes('./infra/temporal/config:/etc/wa-connect/temporal/config:ro'));
    assert.equal(server?.environment?.TEMPORAL_DYNAMIC_CONFIG, '/etc/wa-connect/temporal/config/dynamicconfig.yaml');
    assert.ok(Number(server?.environment?.TEMPORAL_HISTORY_SHARDS) >= 4);
    const namespace = compose.services['temporal-namespace'];
    assert.deepEqual(namespace?.entrypoint, ['sh', '/etc/wa-connect/temporal/setup-namespace.sh']);

    // Every TEMPORAL_* setting compose gives them is one the config or the scripts read.
    const read = [
      await readFile('infra/temporal/config/production.yaml', 'utf8'),
      await readFile('infra/temporal/setup-schema.sh', 'utf8'),
      await readFile('infra/temporal/setup-namespace.sh', 'utf8'),
    ].join('\n');
    for (const service of [schema, server, namespace]) {
      for (const name of Object.keys(service?.environment ?? {}).filter((key) => key.startsWith('TEMPORAL_'))) {
        const readAs = [`env "${name}"`, `\${${name}`, `"$${name}"`];
        assert.ok(
          readAs.some((form) => read.includes(form)),
          `${name} is read by the files`,
        );
      }
    }
    assert.equal(server?.environment?.TEMPORAL_DB_USER, 'temporal');
  });

  it("runs Temporal's Web UI server from the production topology's UI config", async () => {
    const ui = compose.services['temporal-ui'];
    assert.deepEqual(ui?.entrypoint, ['/home/ui-server/ui-server', ...temporalUiArgs('/etc/wa-connect/temporal-ui')]);
    assert.ok(ui?.volumes?.includes('./infra/temporal/ui:/etc/wa-connect/temporal-ui:ro'));
    const config = await readFile('infra/temporal/ui/production.yaml', 'utf8');
    for (const name of Object.keys(ui?.environment ?? {})) assert.ok(config.includes(`env "${name}"`), name);
    // Its only door is the API's /temporal, behind the operators' login.
    assert.equal(
      compose.services.api?.environment?.TEMPORAL_UI_URL,
      `http://temporal-ui:${String(ui?.environment?.TEMPORAL_UI_PORT)}`,
    );
    assert.ok(config.includes(`publicPath: ${TEMPORAL_UI_PUBLIC_PATH}\n`), 'the UI is served where the API proxies it');
    assert.ok(config.includes(`endpoint: ${TEMPORAL_UI_CODEC_ENDPOINT}\n`), "the UI decodes through the API's codec");
  });

  it('registers exactly the search attributes the workflows set', async () => {
    const script = await readFile('infra/temporal/setup-namespace.sh', 'utf8');
    const declared = /^SEARCH_ATTRIBUTES="([^"]*)"/m.exec(script)?.[1]?.split(' ');
    assert.deepEqual(declared, [...SEARCH_ATTRIBUTE_DECLARATIONS]);
  });

  it('gives the worker and the API a login each, the migrations an owner that is not the superuser, and Temporal a role of its own', async () => {
    // The URLs hold ${...} substitutions, so the user and the password's variable are read off the text.
    const userOf = (url: unknown) => /^postgres:\/\/([^:@/]+)[:@]/.exec(String(url))?.[1];
    const passwordOf = (url: unknown) => /^postgres:\/\/[^:]+:\$\{([A-Z_]+)/.exec(String(url))?.[1];
    const workerEnv = compose.services.worker?.environment ?? {};
    const apiEnv = compose.services.api?.environment ?? {};
    const migrate = compose.services.migrate?.environment ?? {};
    const postgres = compose.services.postgresql?.environment ?? {};
    assert.equal(userOf(workerEnv.DATABASE_URL), migrate.WORKER_DB_USER);
    assert.equal(passwordOf(workerEnv.DATABASE_URL), 'WORKER_DB_PASSWORD');
    assert.equal(userOf(apiEnv.DATABASE_URL), migrate.API_DB_USER);
    assert.equal(passwordOf(apiEnv.DATABASE_URL), 'API_DB_PASSWORD');
    assert.notEqual(migrate.WORKER_DB_USER, migrate.API_DB_USER, 'the worker and the API never share a login');
    assert.match(String(migrate.WORKER_DB_PASSWORD), /^\$\{WORKER_DB_PASSWORD:/);
    assert.match(String(migrate.API_DB_PASSWORD), /^\$\{API_DB_PASSWORD:/);
    for (const env of [workerEnv, apiEnv])
      assert.equal(env.DATABASE_MIGRATION_URL, undefined, 'no process holds the owner password');
    assert.equal(migrate.SERVICE_DB_USER, undefined, 'no login shared by both processes');

    // The owner runs the migrations; the image's superuser is another role, whose password no service holds.
    assert.equal(userOf(migrate.DATABASE_MIGRATION_URL), 'wa_connect');
    assert.equal(passwordOf(migrate.DATABASE_MIGRATION_URL), 'MIGRATION_DB_PASSWORD');
    assert.notEqual(postgres.POSTGRES_USER, 'wa_connect');
    assert.equal(
      postgres.MIGRATION_DB_PASSWORD,
      migrate.DATABASE_MIGRATION_URL && '${MIGRATION_DB_PASSWORD:?set MIGRATION_DB_PASSWORD}',
    );
    for (const [name, service] of Object.entries(compose.services)) {
      if (name === 'postgresql') continue;
      assert.ok(
        !JSON.stringify(service.environment ?? {}).includes('POSTGRES_PASSWORD'),
        `${name}: no superuser password`,
      );
    }
    const init = compose.services.postgresql?.volumes?.find((volume) => volume.includes('owner-role.sh'));
    assert.match(String(init), /^\.\/infra\/postgres\/owner-role\.sh:\/docker-entrypoint-initdb\.d\//);
    const ownerRole = await readFile('infra/postgres/owner-role.sh', 'utf8');
    assert.match(ownerRole, /CREATE ROLE wa_connect LOGIN NOSUPERUSER NOCREATEDB CREATEROLE/);
    assert.match(ownerRole, /ALTER DATABASE .* OWNER TO wa_connect/);
    assert.equal(compose.services.temporal?.environment?.TEMPORAL_DB_USER, 'temporal');
  });

  it('builds the worker and the API from the Dockerfile and starts them after migrations', () => {
    for (const name of ['worker', 'api']) {
      const service = compose.services[name];
      assert.ok(service?.build, `${name} is built from the repository`);
      assert.equal(service?.depends_on?.migrate?.condition, 'service_completed_successfully');
    }
    assert.match(JSON.stringify(compose.services.worker?.command), /workers\/main\.ts/);
    assert.match(JSON.stringify(compose.services.api?.command), /api\/main\.ts/);
  });

  it('gives its Temporal server the same dynamic config as the embedded dev server', async () => {
    const dynamicConfig = parse(await readFile('infra/temporal/config/dynamicconfig.yaml', 'utf8')) as Record<
      string,
      Array<{ value: unknown }>
    >;
    const composed = Object.entries(dynamicConfig)
      .map(([key, entries]) => `${key}=${String(entries[0]?.value)}`)
      .sort();
    assert.deepEqual(composed, [...TEMPORAL_SERVER_TUNING].sort());
  });
});

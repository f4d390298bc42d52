import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import type { ChildHandle } from '../../lib/child-process.js';
import { dataConverterFromEnv } from '../../lib/payload-encryption.js';
import { startTracing, type Tracing } from '../../lib/tracing.js';
import { AccountDriver, FAST_SIMULATOR_ENV, randomPhone } from '../helpers/accounts.js';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { eventually, openPool, openTemporalClient, uniqueId } from '../helpers/context.js';
import { startTestWorker } from '../helpers/worker-process.js';

interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes?: OtlpAttribute[];
}

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string };
}
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: {
      spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string; attributes?: OtlpAttribute[] }[];
    }[];
  }[];
}

/** An OTLP/HTTP collector on loopback that keeps every span it is sent. */
async function startOtlpReceiver(): Promise<{ url: string; spans: ReceivedSpan[]; server: Server }> {
  const spans: ReceivedSpan[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url === '/v1/traces') {
        const exported = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport;
        for (const resourceSpans of exported.resourceSpans ?? []) {
          const service =
            resourceSpans.resource?.attributes?.find((attribute) => attribute.key === 'service.name')?.value
              .stringValue ?? '';
          for (const scope of resourceSpans.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) spans.push({ service, parentSpanId: '', ...span });
          }
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, spans, server };
}

describe('traces: one trace follows a connection from the POST to connected', { timeout: 120_000 }, () => {
  let pool: DatabasePool;
  let closeClient: () => Promise<void>;
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let tracing: Tracing;
  let worker: ChildHandle;
  let api: TestApi;
  let accounts: AccountDriver;

  before(async () => {
    pool = await openPool();
    receiver = await startOtlpReceiver();
    const opened = await openTemporalClient();
    closeClient = opened.close;
    const traced = startTracing({ endpoint: receiver.url, serviceName: 'wa-connect-api' });
    assert.ok(traced);
    tracing = traced;
    const client = new Client({
      connection: opened.client.connection,
      dataConverter: dataConverterFromEnv(process.env),
      plugins: [tracing.temporalPlugin],
    });
    const started = await startTestWorker({ ...FAST_SIMULATOR_ENV, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    worker = started.worker;
    accounts = new AccountDriver(pool, client, started.taskQueue);
    api = await buildTestApi(pool, client, { taskQueue: started.taskQueue, simulator: true, traceRequests: true });
  });
  after(async () => {
    await worker?.stop('SIGTERM');
    await api?.app.close();
    await tracing?.shutdown();
    await closeClient?.();
    await pool?.end();
    receiver?.server.close();
  });

  it("the API's request, the workflow's start, and the worker's placement, engine start and activation share one trace", async () => {
    const workspaceId = uniqueId('ws-traces');
    const key = await api.keyFor(workspaceId);
    const sessionId = uniqueId('traced');
    const created = await api.as(key, {
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/accounts`,
      payload: { sessionId },
    });
    assert.equal(created.statusCode, 201, created.body);
    await accounts.showingQr(sessionId);
    await accounts.phone(sessionId, 'scan', { phone: randomPhone() });
    await accounts.rowWithStatus(sessionId, 'connected');

    const start = await eventually(
      async () => receiver.spans.find((span) => span.name === 'StartWorkflow:accountConnection'),
      20_000,
      "the workflow start's span",
    );
    const request = receiver.spans.find((span) => span.spanId === start.parentSpanId);
    assert.ok(request, 'the start is a child of a span of the API');
    assert.equal(request.service, 'wa-connect-api');
    assert.equal(request.traceId, start.traceId);

    const inTrace = (name: string) =>
      receiver.spans.find((span) => span.traceId === start.traceId && span.name === name);
    for (const name of [
      'RunActivity:claimHost',
      'RunActivity:startEngineSession',
      'RunActivity:recordLoginCode',
      'RunActivity:activateAccount',
    ]) {
      const span = await eventually(async () => inTrace(name), 20_000, `${name} in the connection's trace`);
      assert.equal(span.service, 'wa-connect-worker', name);
    }
  });

  it("a request's span names its path without the key or the onboarding token it carries", async () => {
    const workspaceId = uniqueId('ws-traces');
    const key = await api.keyFor(workspaceId);
    const token = `onboarding-token-marker-${uniqueId('t')}`;
    await api.app.inject({ method: 'GET', url: `/v1/workspaces/${workspaceId}/accounts?access_token=${key}` });
    await api.app.inject({ method: 'GET', url: `/onboard/${token}` });
    const paths = await eventually(
      async () => {
        const found = receiver.spans
          .filter((span) => span.service === 'wa-connect-api')
          .map((span) => span.attributes?.find((attribute) => attribute.key === 'url.path')?.value.stringValue ?? '')
          .filter((path) => path.includes(workspaceId) || path.startsWith('/onboard/'));
        return found.length >= 2 ? found : undefined;
      },
      20_000,
      'both requests traced',
    );
    assert.ok(paths.includes(`/v1/workspaces/${workspaceId}/accounts?access_token=[redacted]`), paths.join('\n'));
    assert.ok(paths.includes('/onboard/[redacted]'), paths.join('\n'));
    const everything = JSON.stringify(receiver.spans);
    assert.ok(!everything.includes(key), 'the key in no span');
    assert.ok(!everything.includes(token), 'the token in no span');
  });
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { buildTestApi, type TestApi } from '../helpers/api.js';
import { openPool, openTemporalClient, uniqueId } from '../helpers/context.js';

const MONITORING = fileURLToPath(new URL('../../infra/monitoring/', import.meta.url));
const RULES = `${MONITORING}prometheus/wa-connect.rules.yml`;

/** The metric names an expression reads (the service's own all start with wa_). */
const metricNames = (expression: string) => [...expression.matchAll(/\bwa_[a-z_]+/g)].map((match) => match[0]);

describe('monitoring kit: alert rules checked by promtool, a Grafana dashboard on metrics the service exports', () => {
  let pool: DatabasePool;
  let client: Client;
  let closeClient: () => Promise<void>;
  let api: TestApi;
  let exported: string;

  before(async () => {
    pool = await openPool();
    ({ client, close: closeClient } = await openTemporalClient());
    api = await buildTestApi(pool, client, { taskQueue: uniqueId('tq-idle'), simulator: false });
    const scraped = await api.as(api.adminKey, { url: '/metrics' });
    assert.equal(scraped.statusCode, 200);
    exported = scraped.body;
  });
  after(async () => {
    await api?.app.close();
    await closeClient?.();
    await pool?.end();
  });

  it('promtool accepts the rules, and their unit tests pass (each alert fires on its series, and only then)', () => {
    const checked = execFileSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    assert.match(checked, /SUCCESS: 9 rules found/);
    const tested = execFileSync('promtool', ['test', 'rules', `${MONITORING}prometheus/wa-connect.rules.test.yml`], {
      encoding: 'utf8',
    });
    assert.match(tested, /SUCCESS/);
  });

  it('every metric the rules and the dashboard read is one the service exports', async () => {
    const rules = await readFile(RULES, 'utf8');
    const dashboard = JSON.parse(await readFile(`${MONITORING}grafana/wa-connect.dashboard.json`, 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const read = new Set([
      ...metricNames(rules),
      ...dashboard.panels.flatMap((panel) => panel.targets.flatMap((target) => metricNames(target.expr))),
    ]);
    assert.ok(read.size >= 8, `the kit reads ${[...read].join(', ')}`);
    for (const name of read) {
      // A histogram is declared once, under its base name; its series add _bucket, _sum and _count.
      const declared = name.replace(/_(bucket|sum|count)$/, '');
      assert.match(exported, new RegExp(`^# TYPE ${declared} `, 'm'), `${name} is exported`);
    }
    assert.ok(dashboard.panels.every((panel) => panel.targets.length > 0 && panel.title));
  });
});

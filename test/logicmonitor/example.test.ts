// Example: the `logicmonitor` plugin used on its own — validate options as the YAML loader does,
// create it with a context, poll the fake portal once and get the alert with its cursor. Also
// checks that the folder's example.yaml is a valid config.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import lmPlugin from '../../plugins/logicmonitor/index.js';
import { parseConfig } from '../../src/config/load.js';
import { startFakeLogicMonitor, type FakeLogicMonitor } from '../fakes/logicmonitor/server.js';
import { ACCESS_ID, ACCESS_KEY, recordingContext, waitFor } from './helpers.js';

let fake: FakeLogicMonitor | undefined;
afterEach(async () => fake?.close());

it('example: poll a LogicMonitor portal and receive its alerts with the cursor', async () => {
  fake = await startFakeLogicMonitor({ accessKeys: { [ACCESS_ID]: ACCESS_KEY } });
  const startEpoch = Math.floor(Date.now() / 1000) - 60;
  fake.upsert({
    id: 'DS304962', internalId: 'LMD88211', type: 'dataSourceAlert', severity: 3, startEpoch, endEpoch: 0, cleared: false,
    acked: false, sdted: false, rule: 'Error', chain: 'Ops', monitorObjectId: 42, monitorObjectName: 'db-01',
    monitorObjectType: 'device', resourceTemplateName: 'Linux CPU', instanceName: 'cpu0', dataPointName: 'CPUBusyPercent',
    alertValue: '93.5', threshold: '> 90',
  });

  // what the YAML block `- { name: lm, type: logicmonitor, base_url: …, auth: {…} }` turns into
  const options = lmPlugin.schema.parse({ base_url: fake.baseUrl, auth: { type: 'lmv1', access_id: ACCESS_ID, access_key: ACCESS_KEY } });
  const ctx = recordingContext(); // records what emit() commits
  const connector = lmPlugin.create(options, ctx);
  await connector.start(); // polls once now, then every minute
  await waitFor(() => ctx.envelopes.length === 1, 'the alert');
  await connector.stop();

  expect(ctx.envelopes[0]).toMatchObject({
    messageRaw: 'LogicMonitor error alert raised on db-01: Linux CPU cpu0 CPUBusyPercent = 93.5 (threshold > 90) - Linux CPU cpu0 CPUBusyPercent is 93.5, threshold > 90',
    sourceType: 'logicmonitor', host: 'db-01', service: 'Linux CPU', severity: 'error',
    correlationKeys: { alert_id: 'DS304962', device: 'db-01', instance: 'cpu0', datapoint: 'CPUBusyPercent' },
  });
  // the cursor committed with it: the alert id is remembered inside the overlap window
  expect(ctx.lastCheckpoint).toMatchObject({ v: 1, raised: { seen: { DS304962: startEpoch } } });
});

it('plugins/logicmonitor/example.yaml is a valid config', async () => {
  const file = fileURLToPath(new URL('../../plugins/logicmonitor/example.yaml', import.meta.url));
  const loaded = await parseConfig(readFileSync(file, 'utf8'), file, {
    env: { LM_ACCOUNT: 'acme', LM_ACCESS_ID: ACCESS_ID, LM_ACCESS_KEY: ACCESS_KEY },
  });
  expect(loaded.connectors[0]!.options).toMatchObject({
    base_url: 'https://acme.logicmonitor.com/santaba/rest', schedule: '*/2 * * * *', initial_lookback: 7 * 86_400_000, page_size: 500,
  });
});

it('reports a bad option with the file, line and path', async () => {
  const text = [
    'connectors:',
    '  - name: lm',
    '    type: logicmonitor',
    '    account: acme',
    '    auth: { type: bearer, token: t }',
    '    page_size: 5000',
    '',
  ].join('\n');
  await expect(parseConfig(text, 'brainstem.yaml', { env: {} })).rejects.toThrow(/brainstem\.yaml:6 connectors\[0\]\.page_size/);
});

// `brainstem check`: the store, each connector's check() and each receiver's reachability in
// one table; exit 1 when anything fails; nothing is delivered to a receiver.
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, CLI, COUNTER_PLUGIN, tempDir, writeConfig } from '../http/helpers.js';

describe('brainstem check', () => {
  const tmp = tempDir('brainstem-check-');
  let hook: Server;
  const seen: string[] = [];
  let closedPort = 0;

  beforeAll(async () => {
    assertBuilt();
    hook = createServer((req, res) => {
      seen.push(req.method!);
      res.writeHead(req.method === 'POST' ? 200 : 405).end();
    });
    hook.listen(0, '127.0.0.1');
    await once(hook, 'listening');
    const spare = createServer().listen(0, '127.0.0.1');
    await once(spare, 'listening');
    closedPort = (spare.address() as AddressInfo).port;
    spare.close();
  });
  afterAll(() => {
    hook.close();
    tmp.cleanup();
  });

  // asynchronous: the webhook server in this process must keep answering while check runs
  const run = (cfg: string, ...args: string[]) => new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [CLI, 'check', '-c', cfg, ...args], { cwd: tmp.dir, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });

  it('reports every connector and receiver, and fails when one cannot work', async () => {
    const port = (hook.address() as AddressInfo).port;
    const cfg = writeConfig(tmp.dir, `
storage: { path: ${tmp.dir}/b.db }
connectors:
  - { name: api, type: http }
  - { name: good, type: counter, plugin: ${COUNTER_PLUGIN} }
  - { name: bad, type: counter, plugin: ${COUNTER_PLUGIN}, fail: "permission denied: /var/log/app.log" }
receivers:
  - { name: console, type: stdout }
  - { name: ours, type: webhook, url: "http://127.0.0.1:${port}/hooks/s3cret-path" }
  - { name: gone, type: webhook, url: "http://127.0.0.1:${closedPort}/hooks/other-secret" }
`);
    const res = await run(cfg, '--json');
    expect(res.status, res.stderr).toBe(1);
    const rows = JSON.parse(res.stdout) as Array<{ kind: string; name: string; ok: boolean; detail: string }>;
    const by = (name: string) => rows.find((r) => r.name === name)!;
    expect(by('storage')).toMatchObject({ kind: 'store', ok: true });
    expect(by('storage').detail).toMatch(/will be created/);
    expect(by('api')).toMatchObject({ kind: 'connector', ok: true });
    expect(by('good')).toMatchObject({ kind: 'connector', ok: true, detail: 'would count from 0' });
    expect(by('bad')).toMatchObject({ kind: 'connector', ok: false, detail: 'permission denied: /var/log/app.log' });
    expect(by('console')).toMatchObject({ kind: 'receiver', ok: true });
    expect(by('ours')).toMatchObject({ kind: 'receiver', ok: true });
    expect(by('ours').detail).toMatch(/HTTP 405/);
    expect(by('gone')).toMatchObject({ kind: 'receiver', ok: false });
    expect(by('gone').detail).toMatch(/ECONNREFUSED/);
    // webhook paths are secrets: only scheme://host:port is printed
    expect(res.stdout).not.toMatch(/s3cret-path|other-secret/);
    // reachability only: nothing was POSTed
    expect(seen).toEqual(['HEAD']);
  });

  it('prints a table and exits 0 when everything is reachable', async () => {
    const cfg = writeConfig(tmp.dir, `
storage: { path: ${tmp.dir}/b2.db }
connectors:
  - { name: api, type: http }
receivers:
  - { name: console, type: stdout }
`, 'ok.yaml');
    const res = await run(cfg);
    expect(res.status, res.stderr).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^kind\s+name\s+type\s+result\s+detail$/);
    expect(lines.slice(2).map((l) => l.split(/\s+/).slice(0, 4).join(' '))).toEqual([
      'store storage sqlite ok', 'connector api http ok', 'receiver console stdout ok',
    ]);
  });
});

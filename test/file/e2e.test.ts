// The file connector through the real daemon: rotation, truncation and deletion while it runs
// and while it is down, kill -9 in a loop, unreadable and missing paths. Every test writes
// unique numbered lines and checks that the store holds each exactly once.
import { appendFileSync, chmodSync, mkdirSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cliBuilt, Daemon } from './daemon.js';
import { exactlyOnce, numbered, range, tmpDir, removeTmpDirs } from './helpers.js';

const daemons: Daemon[] = [];
afterEach(async () => {
  for (const d of daemons.splice(0)) await d.stop('SIGKILL');
  removeTmpDirs();
});
beforeAll(() => cliBuilt());

function daemon(dir: string, connector: Record<string, unknown>, extra: Partial<ConstructorParameters<typeof Daemon>[0]> = {}): Daemon {
  const d = new Daemon({ dir, connector: { scan_interval_ms: 200, rotate_wait_ms: 300, partial_line_timeout_ms: 500, format: 'plain', ...connector }, ...extra });
  daemons.push(d);
  return d;
}

const clean = { missing: [], duplicated: [], unexpected: [] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('file connector in the daemon', { timeout: 60_000 }, () => {
  it('stores every line exactly once through rotation, copytruncate, truncation and deletion while running', async () => {
    const dir = tmpDir();
    const f = path.join(dir, 'app.log');
    writeFileSync(f, '');
    const d = daemon(dir, { paths: [f] });
    d.start();
    const want: string[] = [];
    const write = (file: string, p: string, a: number, b: number) => { appendFileSync(file, numbered(p, a, b)); want.push(...range(p, a, b)); };
    const settle = async (n: number) => {
      try {
        await d.waitFor(async () => (await d.storedCount()) >= n, `${n} events`);
      } catch (e) {
        throw new Error(`${(e as Error).message}\nstored so far: ${JSON.stringify(exactlyOnce(await d.messages(), want))}`);
      }
    };
    await d.waitFor(async () => (await d.stats()).connectors[0]?.state === 'running', 'connector running');
    write(f, 'a', 0, 100);
    await settle(100);
    renameSync(f, `${f}.1`); // rename + create, with lines landing in the old file after the rename
    write(`${f}.1`, 'a', 100, 110);
    write(f, 'b', 0, 50);
    await settle(160);
    writeFileSync(`${f}.2`, ''); // copytruncate
    truncateSync(f, 0);
    write(f, 'c', 0, 20);
    await settle(180);
    truncateSync(f, 0); // truncation, regrowing past the old offset
    await sleep(400);
    write(f, 'd', 0, 80);
    await settle(260);
    write(f, 'e', 0, 5);
    rmSync(f); // deletion: the rest of the open file is still read
    await settle(265);
    await d.stop();
    expect(exactlyOnce(await d.messages(), want)).toEqual(clean);
  });

  it('stores JSON lines with mapped fields, multiline events and truncation flags in the wire format', async () => {
    const dir = tmpDir();
    const j = path.join(dir, 'app.json');
    const m = path.join(dir, 'trace.log');
    writeFileSync(j, '');
    writeFileSync(m, '');
    const d = daemon(dir, { paths: [j], format: 'json', json_fields: { message: 'msg', severity: 'level' }, host: 'web-7' });
    d.start();
    await d.waitFor(async () => (await d.stats()).connectors[0]?.state === 'running', 'connector running');
    appendFileSync(j, '{"msg":"disk /dev/sda1 full","level":"error","time":"2026-12-01T10:00:00Z","mount":"/var"}\nnot json\n');
    await d.waitFor(async () => (await d.storedCount()) === 2, '2 events');
    await d.stop();
    const [bad, ok] = await d.events(); // newest first
    expect(ok).toMatchObject({
      message_raw: '{"msg":"disk /dev/sda1 full","level":"error","time":"2026-12-01T10:00:00Z","mount":"/var"}',
      host: 'web-7', source_type: 'file', source_path: j, timestamp: '2026-12-01T10:00:00.000Z',
      structured_fields: { mount: '/var' },
    });
    expect(['err', 'error']).toContain(ok!.severity);
    expect(bad).toMatchObject({ message_raw: 'not json', parse_error: expect.stringContaining('not JSON') });

    const d2 = new Daemon({ dir: tmpDir(), connector: { paths: [m], format: 'plain', max_line_bytes: 64, multiline: { start: '^\\S', flush_ms: 100 } } });
    daemons.push(d2);
    d2.start();
    await d2.waitFor(async () => (await d2.stats()).connectors[0]?.state === 'running', 'connector running');
    appendFileSync(m, `Exception in thread main\n  at a.b(C.java:1)\n  at d.e(F.java:2)\n${'z'.repeat(200)}\n`);
    await d2.waitFor(async () => (await d2.storedCount()) === 2, '2 events');
    await d2.stop();
    const [long, trace] = await d2.events();
    expect(trace!.message_raw).toBe('Exception in thread main\n  at a.b(C.java:1)\n  at d.e(F.java:2)');
    expect(long).toMatchObject({ message_raw: 'z'.repeat(64), metadata: { truncated: true, original_bytes: 200 } });
  });

  it('catches up after changes made while it was down: rename, truncate-and-regrow, new files', async () => {
    const dir = tmpDir();
    const a = path.join(dir, 'a.log');
    const b = path.join(dir, 'b.log');
    writeFileSync(a, numbered('a', 0, 30));
    writeFileSync(b, numbered('b', 0, 30));
    const d = daemon(dir, { paths: [path.join(dir, '*.log')], start_at: 'beginning' });
    d.start();
    await d.waitFor(async () => (await d.storedCount()) === 60, '60 events');
    await d.stop();
    appendFileSync(a, numbered('a', 30, 40)); // unread tail of the file that gets rotated
    renameSync(a, path.join(dir, 'a.log.1'));
    writeFileSync(a, numbered('a2', 0, 10));
    writeFileSync(b, numbered('b2', 0, 100)); // rewritten in place, longer than the old offset
    writeFileSync(path.join(dir, 'c.log'), numbered('c', 0, 10));
    d.start();
    await d.waitFor(async () => (await d.storedCount()) >= 190, '190 events');
    await sleep(800);
    await d.stop();
    const want = [...range('a', 0, 40), ...range('b', 0, 30), ...range('a2', 0, 10), ...range('b2', 0, 100), ...range('c', 0, 10)];
    expect(exactlyOnce(await d.messages(), want)).toEqual(clean);
  });

  it('resumes after kill -9 without losing or repeating a line (25 kills, rotations in between)', async () => {
    const dir = tmpDir();
    const f = path.join(dir, 'app.log');
    writeFileSync(f, '');
    // rotated names match too (dateext-style rotation): a file renamed while the daemon is down is followed by identity
    const d = daemon(dir, { paths: [`${f}*`], start_at: 'beginning', scan_interval_ms: 100 });
    let n = 0;
    let rotations = 0;
    const writer = setInterval(() => {
      appendFileSync(f, numbered('k', n, n + 37));
      n += 37;
    }, 7);
    try {
      for (let kill = 0; kill < 25; kill++) {
        d.start();
        await sleep(150 + Math.random() * 700);
        if (kill % 3 === 1) {
          const rotated = `${f}.${++rotations}`;
          renameSync(f, rotated);
          appendFileSync(rotated, numbered('k', n, n + 5)); // the writer's last lines into the old file
          n += 5;
          writeFileSync(f, '');
          await sleep(Math.random() * 200);
        }
        await d.stop('SIGKILL');
      }
    } finally {
      clearInterval(writer);
    }
    d.start();
    // on a timeout, go on to the comparison: it names what is missing or repeated
    await d.waitFor(async () => (await d.storedCount()) >= n, `${n} events`, 60_000).catch((err) => console.error(String(err)));
    await sleep(500);
    await d.stop();
    const got = await d.messages();
    console.info(`kill -9 loop: 25 kills, ${rotations} rotations, ${n} lines written, ${got.length} stored, ${new Set(got).size} distinct`);
    expect(got.length).toBe(n);
    expect(exactlyOnce(got, range('k', 0, n))).toEqual(clean);
    expect(n).toBeGreaterThan(1000);
  }, 120_000);

  it('reports unreadable files and missing directories in stats, keeps running and picks them up later', async () => {
    const dir = tmpDir();
    const locked = path.join(dir, 'locked.log');
    const sub = path.join(dir, 'later');
    writeFileSync(locked, numbered('locked', 0, 5));
    chmodSync(locked, 0o000);
    const d = daemon(dir, { paths: [locked, path.join(sub, '*.log')], start_at: 'beginning' }, { withoutDacOverride: true });
    d.start();
    await d.waitFor(async () => {
      const e = (await d.stats()).connectors[0]?.last_error ?? '';
      return e.includes('locked.log: cannot open (EACCES)') && e.includes(`directory ${sub} does not exist`);
    }, 'both problems in stats');
    expect((await d.stats()).connectors[0]!.state).toBe('running');
    chmodSync(locked, 0o644);
    mkdirSync(sub);
    writeFileSync(path.join(sub, 'x.log'), numbered('x', 0, 3));
    await d.waitFor(async () => (await d.storedCount()) === 8, '8 events');
    await d.waitFor(async () => (await d.stats()).connectors[0]?.last_error === null, 'problems cleared');
    await d.stop();
    expect(exactlyOnce(await d.messages(), [...range('locked', 0, 5), ...range('x', 0, 3)])).toEqual(clean);
  });
});

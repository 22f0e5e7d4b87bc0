// End to end through the built CLI: signature keys survive process restarts (the miner is
// rebuilt from the store each time) and stay put when a template generalizes.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliJson } from '../helpers/cli.js';

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'brainstem-miner-'));
  const cfg = join(dir, 'brainstem.yaml');
  writeFileSync(cfg, `tenant_id: test\nstorage: { path: ${JSON.stringify(join(dir, 'b.db'))} }\napi: { enabled: false }\npipeline: { utc: true }\n`);
  return { dir, cfg };
}

function logFile(dir: string, name: string, lines: string[]): string {
  const file = join(dir, name);
  writeFileSync(file, lines.map((l, i) => `Dec  3 10:00:${String(i % 60).padStart(2, '0')} web1 ${l}`).join('\n') + '\n');
  return file;
}

interface Sig { signature_key: string; normalized_pattern: string; service: string; occurrence_count: number }
interface Ev { message_raw: string; signature_key: string }

describe('signature keys through the store', () => {
  it('are the same after a restart, including across a generalization', () => {
    const { dir, cfg } = workspace();
    const first = logFile(dir, 'a.log', [
      'sshd[100]: Failed password for root from 10.0.0.1 port 22 ssh2',
      'sshd[101]: Accepted publickey for deploy from 10.0.0.2 port 40000 ssh2',
      'kernel: EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm nginx: reading directory lblock 0',
      'CRON[7]: pam_unix(cron:session): session opened for user root by (uid=0)',
    ]);
    expect(cliJson(['ingest', '-c', cfg, first]).new_signatures).toBe(4);
    const before = cliJson<Sig[]>(['signatures', '--limit', '0', '-c', cfg]);
    const keyOf = (sigs: Sig[], re: RegExp) => sigs.find((s) => re.test(s.normalized_pattern))!.signature_key;
    const failedKey = keyOf(before, /^Failed password/);

    // A new process: the miner is restored from the store; a new user generalizes the template.
    const second = logFile(dir, 'b.log', [
      'sshd[200]: Failed password for admin from 10.0.0.9 port 4711 ssh2',
      'kernel: EXT4-fs error (device sdb3): ext4_find_entry:1455: inode #77: comm java: reading directory lblock 0',
      'CRON[8]: pam_unix(cron:session): session opened for user news by (uid=9)',
    ]);
    expect(cliJson(['ingest', '-c', cfg, second]).new_signatures).toBe(0);
    const after = cliJson<Sig[]>(['signatures', '--limit', '0', '-c', cfg]);
    expect(after.map((s) => s.signature_key).sort()).toEqual(before.map((s) => s.signature_key).sort());
    const failed = after.find((s) => s.signature_key === failedKey)!;
    expect(failed.normalized_pattern).toBe('Failed password for <*> from <IP> port <NUM>');
    expect(failed.occurrence_count).toBe(2);

    // Once more: the same lines again get the keys they got the first time.
    expect(cliJson(['ingest', '-c', cfg, first, second]).new_signatures).toBe(0);
    const events = cliJson<Ev[]>(['events', '--limit', '0', '-c', cfg]);
    const keysByLine = new Map<string, Set<string>>();
    for (const e of events) {
      const line = e.message_raw.slice(e.message_raw.indexOf(' web1 ') + 6);
      if (!keysByLine.has(line)) keysByLine.set(line, new Set());
      keysByLine.get(line)!.add(e.signature_key);
    }
    expect(keysByLine.size).toBe(7);
    for (const keys of keysByLine.values()) expect(keys.size).toBe(1);
    expect(new Set(events.map((e) => e.signature_key)).size).toBe(4);
  });
});

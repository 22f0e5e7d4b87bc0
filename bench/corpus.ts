// A realistic synthetic syslog corpus for benchmarks: many hosts and programs, IPs, numbers,
// paths and ids, drawn from a few hundred message templates, with a seeded PRNG so every run
// writes the same bytes.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { bsdTime, seeded } from '../fixtures/demo/generate.js';

type Gen = (r: () => number) => string;

function makeTemplates(): Array<[string, Gen]> {
  const int = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const ip = (r: () => number) => `${int(r, 1, 223)}.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 1, 254)}`;
  const hex = (r: () => number, n: number) => Array.from({ length: n }, () => '0123456789abcdef'[int(r, 0, 15)]).join('');
  const users = ['root', 'admin', 'deploy', 'ubuntu', 'postgres', 'www-data', 'backup', 'oracle'];
  const pick = <T>(r: () => number, xs: T[]) => xs[int(r, 0, xs.length - 1)]!;
  const base: Array<[string, Gen]> = [
    ['sshd', (r) => `Failed password for ${pick(r, users)} from ${ip(r)} port ${int(r, 1024, 65535)} ssh2`],
    ['sshd', (r) => `Accepted publickey for ${pick(r, users)} from ${ip(r)} port ${int(r, 1024, 65535)} ssh2: RSA SHA256:${hex(r, 43)}`],
    ['sshd', (r) => `Invalid user ${pick(r, users)}${int(r, 0, 99)} from ${ip(r)} port ${int(r, 1024, 65535)}`],
    ['sshd', (r) => `Connection closed by authenticating user ${pick(r, users)} ${ip(r)} port ${int(r, 1024, 65535)} [preauth]`],
    ['sshd', (r) => `pam_unix(sshd:session): session opened for user ${pick(r, users)}(uid=${int(r, 0, 2000)}) by (uid=0)`],
    ['CRON', (r) => `pam_unix(cron:session): session closed for user ${pick(r, users)}`],
    ['CRON', (r) => `(${pick(r, users)}) CMD (/usr/local/bin/job-${int(r, 1, 40)}.sh --quiet)`],
    ['systemd', (r) => `Started Session ${int(r, 1, 99999)} of User ${pick(r, users)}.`],
    ['systemd', (r) => `${pick(r, ['nginx', 'postgresql', 'redis', 'app', 'worker'])}.service: Main process exited, code=exited, status=${int(r, 1, 3)}/FAILURE`],
    ['systemd', (r) => `Starting ${pick(r, ['Daily apt upgrade', 'Cleanup of Temporary Directories', 'Rotate log files', 'Certbot'])}...`],
    ['kernel', (r) => `[${int(r, 1000, 999999)}.${int(r, 100000, 999999)}] [UFW BLOCK] IN=eth0 OUT= MAC=${hex(r, 2)}:${hex(r, 2)}:${hex(r, 2)}:${hex(r, 2)}:${hex(r, 2)}:${hex(r, 2)} SRC=${ip(r)} DST=${ip(r)} LEN=${int(r, 40, 1500)} TTL=${int(r, 30, 250)} PROTO=TCP SPT=${int(r, 1024, 65535)} DPT=${int(r, 1, 1024)}`],
    ['kernel', (r) => `EXT4-fs (sda${int(r, 1, 4)}): mounted filesystem with ordered data mode. Opts: (null)`],
    ['kernel', (r) => `Out of memory: Killed process ${int(r, 100, 99999)} (${pick(r, ['java', 'node', 'python3'])}) total-vm:${int(r, 1e5, 9e6)}kB`],
    ['nginx', (r) => `${ip(r)} - - "GET /api/v${int(r, 1, 3)}/items/${int(r, 1, 1e6)} HTTP/1.1" ${pick(r, [200, 200, 304, 404, 500])} ${int(r, 100, 90000)}`],
    ['nginx', (r) => `upstream timed out (110: Connection timed out) while reading response header from upstream, client: ${ip(r)}`],
    ['postfix/smtpd', (r) => `connect from unknown[${ip(r)}]`],
    ['postfix/smtpd', (r) => `NOQUEUE: reject: RCPT from unknown[${ip(r)}]: 554 5.7.1 <user${int(r, 1, 999)}@example.com>: Relay access denied`],
    ['dhclient', (r) => `DHCPACK of ${ip(r)} from ${ip(r)}`],
    ['ntpd', (r) => `adjusting local clock by ${(r() * 0.5).toFixed(6)}s`],
    ['app', (r) => `request id=${hex(r, 8)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 12)} user=${pick(r, users)} took ${int(r, 1, 5000)}ms status=${pick(r, [200, 201, 400, 500])}`],
    ['app', (r) => `ERROR cannot open /var/lib/app/cache/${hex(r, 12)}.db: No such file or directory`],
    ['app', (r) => `WARN queue depth ${int(r, 100, 90000)} above threshold ${int(r, 10, 99)}000 on partition ${int(r, 0, 31)}`],
    ['sudo', (r) => `${pick(r, users)} : TTY=pts/${int(r, 0, 9)} ; PWD=/home/${pick(r, users)} ; USER=root ; COMMAND=/usr/bin/systemctl restart ${pick(r, ['nginx', 'app'])}`],
    ['charon', (r) => `${int(r, 1, 16)}[IKE] IKE_SA tunnel-${int(r, 1, 9)}[${int(r, 1, 999)}] established between ${ip(r)}...${ip(r)}`],
    ['snmpd', (r) => `Connection from UDP: [${ip(r)}]:${int(r, 1024, 65535)}->[${ip(r)}]:161`],
  ];
  // multiply shapes into a few hundred templates: each base × a subsystem word in front
  const subsystems = ['', 'db: ', 'cache: ', 'auth: ', 'billing: ', 'search: ', 'queue: ', 'edge: ', 'api: ', 'jobs: ', 'mail: ', 'vpn: '];
  const out: Array<[string, Gen]> = [];
  for (const [prog, gen] of base) for (const s of subsystems) out.push([prog, (r) => s + gen(r)]);
  return out;
}

/** Write `lines` syslog lines ending at `endMs` to `path`; returns the bytes written. */
export async function writeSyslogCorpus(path: string, lines: number, endMs = Date.now(), seed = 7): Promise<number> {
  const r = seeded(seed);
  const templates = makeTemplates();
  const hosts = Array.from({ length: 60 }, (_, i) => `host-${String(i).padStart(2, '0')}`);
  const out = createWriteStream(path);
  const step = (6 * 3_600_000) / lines;
  let ts = endMs - 6 * 3_600_000;
  let bytes = 0;
  let chunk: string[] = [];
  for (let i = 0; i < lines; i++) {
    ts += step;
    // skewed template popularity, like real logs
    const t = templates[Math.floor(Math.pow(r(), 2.2) * templates.length)]!;
    chunk.push(`${bsdTime(ts)} ${hosts[Math.floor(r() * hosts.length)]} ${t[0]}[${100 + Math.floor(r() * 60000)}]: ${t[1](r)}\n`);
    if (chunk.length === 5000) {
      const s = chunk.join('');
      bytes += Buffer.byteLength(s);
      if (!out.write(s)) await once(out, 'drain');
      chunk = [];
    }
  }
  const s = chunk.join('');
  bytes += Buffer.byteLength(s);
  out.end(s);
  await once(out, 'finish');
  return bytes;
}

export const TEMPLATE_COUNT = makeTemplates().length;

// Ranking evaluation: the labelled scenario (fixtures/scenarios) through the real pipeline into a
// temporary store, the known incident remembered between its two phases, then scored. Prints
// precision@10, recall of the should-see patterns and the rank of every labelled pattern.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../src/config/load.js';
import { ingestSources } from '../src/cli/commands/ingest.js';
import { scoringOptions } from '../src/daemon/daemon.js';
import { listIncidents, promoteIncident } from '../src/signals/memory.js';
import { refreshSignals } from '../src/signals/refresh.js';
import { computeCandidates } from '../src/signals/score.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { buildScenario, type ScenarioLine } from '../fixtures/scenarios/generate.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The repo root, from bench/ (source) or dist/bench/ (compiled). */
const repoRoot = resolve(here, here.includes(`${'dist'}`) ? '../..' : '..');

interface Pattern { id: string; match: string }
interface Labels { known_incident: { match: string; title: string }; should_see: Pattern[]; should_stay_quiet: Pattern[] }

export interface RankingResult {
  precisionAt10: number;
  recall: number;
  ranks: Record<string, number | null>;
  quietInTop10: string[];
  top10: Array<{ rank: number; score: number; band: string; title: string; pattern: string | null }>;
  incidentRecurrences: number;
}

/** UTC hours at which `rankingByHour` ends the scenario: the result depends on the time of day. */
export const SWEEP_HOURS = [2, 8, 14, 20];

/** `endMs`: when the scenario ends and scoring runs (default now). */
export async function runRanking(opts: { print?: boolean; loghubDir?: string; endMs?: number } = {}): Promise<RankingResult> {
  const labels = JSON.parse(readFileSync(join(repoRoot, 'fixtures/scenarios/labels.json'), 'utf8')) as Labels;
  const loghubDir = opts.loghubDir ?? resolve(repoRoot, '../shared/data/loghub_2k');
  const endMs = Math.floor((opts.endMs ?? Date.now()) / 60_000) * 60_000;
  const scenario = buildScenario(endMs, loghubDir);
  const dir = mkdtempSync(join(tmpdir(), 'brainstem-ranking-'));
  try {
    const write = (name: string, lines: ScenarioLine[]) => {
      const p = join(dir, name);
      writeFileSync(p, lines.map((l) => `${l.text}\n`).join(''));
      return p;
    };
    const storePath = join(dir, 'ranking.db');
    const loaded = await parseConfig(`tenant_id: ranking\nstorage: { path: ${JSON.stringify(storePath)} }\npipeline: { utc: true }\n`, join(dir, 'ranking.yaml'));
    const sOpts = scoringOptions(loaded.config);
    await ingestSources(loaded, [write('history.log', scenario.history)], { format: 'syslog', storePath });
    // the operator remembers the outage: "this was the incident"
    let store = new SqliteStore(storePath);
    const incidentRe = new RegExp(labels.known_incident.match, 'i');
    const incidentSig = store.listSignatures().find((s) => incidentRe.test(s.template));
    if (!incidentSig) throw new Error(`scenario: no signature matches the known incident /${labels.known_incident.match}/`);
    promoteIncident(store, { signatureKey: incidentSig.signatureKey, title: labels.known_incident.title }, scenario.incidentRememberedAt);
    store.close();
    await ingestSources(loaded, [write('recent.log', scenario.recent)], { format: 'syslog', storePath });
    store = new SqliteStore(storePath);
    refreshSignals(store, sOpts, endMs);
    const cands = computeCandidates(store, sOpts, endMs);
    const incidentRecurrences = listIncidents(store)[0]?.recurrenceCount ?? 0;
    store.close();

    const all = [...labels.should_see.map((p) => ({ ...p, see: true })), ...labels.should_stay_quiet.map((p) => ({ ...p, see: false }))]
      .map((p) => ({ ...p, re: new RegExp(p.match, 'i') }));
    const patternOf = (title: string) => all.find((p) => p.re.test(title));
    const ranks: Record<string, number | null> = {};
    for (const p of all) {
      const i = cands.findIndex((c) => p.re.test(c.title));
      ranks[p.id] = i < 0 ? null : i + 1;
    }
    const top10 = cands.slice(0, 10).map((c, i) => ({
      rank: i + 1, score: c.scoreTotal, band: c.decisionBand, title: c.title, pattern: patternOf(c.title)?.id ?? null,
    }));
    const seeIds = new Set(labels.should_see.map((p) => p.id));
    const precisionAt10 = top10.filter((t) => t.pattern && seeIds.has(t.pattern)).length / Math.max(1, top10.length);
    const recall = labels.should_see.filter((p) => (ranks[p.id] ?? Infinity) <= 10).length / labels.should_see.length;
    const quietInTop10 = labels.should_stay_quiet.filter((p) => (ranks[p.id] ?? Infinity) <= 10).map((p) => p.id);
    const result = { precisionAt10, recall, ranks, quietInTop10, top10, incidentRecurrences };
    if (opts.print ?? true) {
      const lines = [
        `ranking: ${scenario.history.length + scenario.recent.length} scenario lines, ${cands.length} candidates`,
        `  precision@10 ${precisionAt10.toFixed(2)}   recall of should-see in top 10 ${recall.toFixed(2)}   should-stay-quiet in top 10: ${quietInTop10.length ? quietInTop10.join(', ') : 'none'}`,
        `  known incident recurrences counted: ${incidentRecurrences}`,
        '  pattern                      expected   rank',
        ...all.map((p) => `  ${p.id.padEnd(28)} ${(p.see ? 'see' : 'quiet').padEnd(10)} ${ranks[p.id] ?? '—'}`),
        '  top 10:',
        ...top10.map((t) => `  ${String(t.rank).padStart(3)}. ${t.score.toFixed(3)} ${t.band.padEnd(20)} ${(t.pattern ?? '(unlabelled)').padEnd(26)} ${t.title.slice(0, 70)}`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The scenario ended at several hours of today (UTC): the daily job runs at 02:00, so how recent
 * its last run is, and with it the ranking, changes over the day. One line per hour.
 */
export async function rankingByHour(): Promise<void> {
  const day = Math.floor(Date.now() / 86_400_000) * 86_400_000;
  const rows: string[] = ['  by the hour the scenario ends (UTC):'];
  for (const h of SWEEP_HOURS) {
    const r = await runRanking({ print: false, endMs: day + h * 3_600_000 });
    rows.push(`    ${String(h).padStart(2, '0')}:00  precision@10 ${r.precisionAt10.toFixed(2)}  recall ${r.recall.toFixed(2)}  `
      + `quiet in top 10: ${r.quietInTop10.length ? r.quietInTop10.join(', ') : 'none'}  `
      + `ranks ${Object.entries(r.ranks).map(([id, rank]) => `${id} ${rank ?? '—'}`).join(', ')}`);
  }
  process.stdout.write(`${rows.join('\n')}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runRanking().then(rankingByHour).catch((err) => {
    process.stderr.write(`ranking: ${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}

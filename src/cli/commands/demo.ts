// `brainstem demo`: the bundled sample logs through the pipeline into a temporary store, then
// the digest — what brainstem says about a morning of realistic syslog, without any setup.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../config/load.js';
import { renderText, digestToWire } from '../../digest/compose.js';
import { composeFromStore } from '../../digest/run.js';
import { scoringOptions } from '../../daemon/daemon.js';
import { SqliteStore } from '../../store/sqlite.js';
import { generateDemoLogs } from '../../../fixtures/demo/generate.js';
import { printJson, type Command } from '../common.js';
import { ingestSources } from './ingest.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run the bundled sample (SSH brute force, flapping VPN, restart loop, noise) and print the digest',
  usage: 'brainstem demo [--json] [--keep]',
  options: { json: { type: 'boolean' }, keep: { type: 'boolean' } },
  async run({ values }) {
    const dir = mkdtempSync(join(tmpdir(), 'brainstem-demo-'));
    try {
      const now = Date.now();
      const logDir = join(dir, 'logs');
      generateDemoLogs(logDir, now);
      const storePath = join(dir, 'demo.db');
      const loaded = await parseConfig(`tenant_id: demo\nstorage: { path: ${JSON.stringify(storePath)} }\npipeline: { utc: true }\n`, join(dir, 'demo.yaml'));
      const files = readdirSync(logDir).sort().map((f) => join(logDir, f));
      const summary = await ingestSources(loaded, files, { format: 'syslog', storePath });
      const store = new SqliteStore(storePath, { readonly: true });
      try {
        const digest = composeFromStore(store, scoringOptions(loaded.config), {
          name: 'demo', schedule: '', receivers: [], min_attention: 'background', max_items: 10,
          lookback: loaded.config.scoring.lookback, send_empty: true, escalation_factor: 2,
        }, now);
        if (values.json) printJson({ ingest: summary, digest: digestToWire(digest) });
        else {
          process.stdout.write(`demo: ${summary.lines_read} sample lines from ${files.length} files → ${summary.signatures_total} signatures\n\n`);
          process.stdout.write(renderText(digest));
        }
      } finally {
        store.close();
      }
    } finally {
      if (values.keep) process.stderr.write(`kept ${dir}\n`);
      else rmSync(dir, { recursive: true, force: true });
    }
  },
};



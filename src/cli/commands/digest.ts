// `brainstem digest`: compose a digest now from the store and print it.
import { composeDigest, digestToWire, renderText } from '../../digest/compose.js';
import { scoringOptions } from '../../daemon/daemon.js';
import { computeCandidates } from '../../signals/score.js';
import { CliError, loadConfigOrExit, openStoreReadonly, printJson, type Command } from '../common.js';

export const digestCommand: Command = {
  name: 'digest',
  summary: 'compose a digest now and print it',
  usage: 'brainstem digest [--name N] [--dry-run] [--json]',
  options: { name: { type: 'string' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } },
  async run({ values, configPath }) {
    const loaded = await loadConfigOrExit(configPath);
    const name = values.name as string | undefined;
    const cfg = name ? loaded.config.digests.find((d) => d.name === name) : loaded.config.digests[0];
    if (name && !cfg) throw new CliError(`no digest named "${name}" in ${configPath}`, 1, 'NOT_FOUND');
    const store = openStoreReadonly(loaded);
    try {
      const now = Date.now();
      const lookbackMs = cfg?.lookback ?? loaded.config.scoring.lookback;
      const cands = computeCandidates(store, { ...scoringOptions(loaded.config), lookbackMs }, now);
      const digest = composeDigest(cands, {
        name: cfg?.name ?? 'adhoc', minAttention: cfg?.min_attention ?? 'watch', maxItems: cfg?.max_items ?? 10, lookbackMs,
      }, now);
      if (values.json) printJson(digestToWire(digest));
      else process.stdout.write(renderText(digest));
    } finally {
      store.close();
    }
  },
};

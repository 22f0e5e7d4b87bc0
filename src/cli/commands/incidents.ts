// `brainstem incidents`: list incident memory, record an incident by hand ("this was the
// outage"), or forget one. Writes open the store read-write; the daemon may be running (WAL).
import { resolve } from 'node:path';
import { forgetIncident, incidentToWire, listIncidents, promoteIncident } from '../../signals/memory.js';
import { SqliteStore } from '../../store/sqlite.js';
import { CliError, iso, loadConfigOrExit, openStoreReadonly, printJson, printTable, type Command } from '../common.js';

export const incidentsCommand: Command = {
  name: 'incidents',
  summary: 'list incident memory; "promote KEY --title T" records one by hand; "forget ID" removes one',
  usage: 'brainstem incidents [--json] | incidents promote SIGNATURE_KEY [--title "…"] [--json] | incidents forget ID',
  allowPositionals: true,
  options: { json: { type: 'boolean' }, title: { type: 'string' } },
  async run({ values, positionals, configPath }) {
    const [action, arg, ...extra] = positionals;
    if (extra.length > 0 || (action && !['promote', 'forget', 'list'].includes(action))) {
      throw new CliError(`unexpected arguments: ${positionals.join(' ')} (see brainstem incidents --help)`, 2, 'USAGE');
    }
    const loaded = await loadConfigOrExit(configPath);
    if (!action || action === 'list') {
      const store = openStoreReadonly(loaded);
      try {
        const incidents = listIncidents(store);
        if (values.json) printJson(incidents.map(incidentToWire));
        else printTable(['id', 'title', 'type', 'signatures', 'recurrences', 'created'],
          incidents.map((i) => [i.id, i.title, i.incidentType, i.signatureKeys.length, i.recurrenceCount, iso(i.createdAt)]));
      } finally {
        store.close();
      }
      return;
    }
    if (!arg) throw new CliError(`incidents ${action} needs ${action === 'promote' ? 'a SIGNATURE_KEY' : 'an incident ID'}`, 2, 'USAGE');
    let store: SqliteStore;
    try {
      store = new SqliteStore(resolve(loaded.config.storage.path));
    } catch (err) {
      throw new CliError((err as Error).message, 1, 'STORE');
    }
    try {
      if (action === 'promote') {
        let inc;
        try {
          inc = promoteIncident(store, { signatureKey: arg, title: values.title as string | undefined }, Date.now());
        } catch (err) {
          if ((err as { code?: string }).code === 'NOT_FOUND') throw new CliError(`${(err as Error).message} (see brainstem signatures)`, 1, 'NOT_FOUND');
          throw err;
        }
        if (values.json) printJson(incidentToWire(inc));
        else process.stdout.write(`remembered incident #${inc.id} "${inc.title}" with ${inc.signatureKeys.length} signature${inc.signatureKeys.length === 1 ? '' : 's'}\n`);
      } else {
        const id = Number(arg);
        if (!Number.isInteger(id) || id <= 0) throw new CliError(`incident ID must be a positive whole number, got "${arg}"`, 2, 'USAGE');
        if (!forgetIncident(store, id)) throw new CliError(`no incident #${id}`, 1, 'NOT_FOUND');
        process.stdout.write(`forgot incident #${id}\n`);
      }
    } finally {
      store.close();
    }
  },
};

// The README's example config goes through the real config loader, and mistakes in the file
// connector's options are reported with the YAML line.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { FileOptions } from '../../plugins/file/options.js';

const FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/file/config.yaml');

describe('file connector config', () => {
  it('loads the README example with its defaults filled in', async () => {
    const loaded = await parseConfig(readFileSync(FIXTURE, 'utf8'), FIXTURE);
    const [varlog, app] = loaded.connectors.map((c) => c.options as FileOptions);
    expect(varlog).toMatchObject({ paths: ['/var/log/{syslog,auth.log,messages,kern.log}'], start_at: 'end', format: 'syslog', max_line_bytes: 65_536, max_open_files: 256 });
    expect(app).toMatchObject({ format: 'json', start_at: 'beginning', service: 'app', multiline: { start: '^\\{', max_lines: 500, flush_ms: 1000 } });
    expect(app!.json_fields.message).toBe('msg');
    expect(app!.json_fields.timestamp).toEqual(['timestamp', 'time', '@timestamp', 'ts']);
  });

  it('names the line and option of a mistake', async () => {
    const text = 'tenant_id: t\nconnectors:\n  - name: x\n    type: file\n    paths: [/tmp/*.log]\n    multiline: { start: "(" }\n';
    await expect(parseConfig(text, 'bad.yaml')).rejects.toThrow(/bad\.yaml:6 .*multiline\.start.*regular expression/);
    await expect(parseConfig(text.replace('multiline: { start: "(" }', 'max_open_file: 3'), 'bad.yaml')).rejects.toThrow(/bad\.yaml:6/);
  });
});

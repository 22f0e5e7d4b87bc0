// Example: the `file` connector plugin used on its own — validate options as the YAML loader
// does, create it with a context, and watch a line arrive with the checkpoint committed with it.
import { appendFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import filePlugin from '../../plugins/file/index.js';
import { fakeCtx, removeTmpDirs, tmpDir, until } from './helpers.js';

it('example: tail a log file and receive its lines with their checkpoint', async () => {
  const dir = tmpDir();
  const log = path.join(dir, 'app.log');
  writeFileSync(log, 'old line, before the first start\n');

  // what the YAML block `- { name: app, type: file, paths: [<dir>/*.log] }` turns into
  const options = filePlugin.schema.parse({ paths: [path.join(dir, '*.log')] });
  const ctx = fakeCtx(); // records what emit() commits
  const connector = filePlugin.create(options, ctx);
  await connector.start();

  appendFileSync(log, 'Dec  3 15:47:10 web1 sshd[812]: Accepted publickey for deploy\n');
  await until(() => ctx.lines.length === 1, 'the new line');
  await connector.stop();

  // start_at: end (default) skipped the old line; the new one carries its source
  expect(ctx.envelopes).toEqual([
    { messageRaw: 'Dec  3 15:47:10 web1 sshd[812]: Accepted publickey for deploy', messageFormat: 'syslog', sourceType: 'file', sourcePath: log },
  ]);
  // and the checkpoint stored with it says how far the file is read
  expect(ctx.committed).toMatchObject({ v: 1, files: [{ path: log, offset: statSync(log).size }] });
  removeTmpDirs();
});

// `type: file` — tails log files matched by globs, with exactly-once delivery across
// rotation, truncation and crashes (the checkpoint is committed with each batch).
// See README.md in this folder for the options and how identity and rotation work.
import { defineConnector } from '../../src/plugin/contract.js';
import { fileOptionsSchema, type FileOptions } from './options.js';
import { PathMatcher } from './paths.js';
import { FileTailer } from './tailer.js';

export default defineConnector<FileOptions>({
  type: 'file',
  description: 'Tail log files (globs), exactly once across rotation, truncation and restarts',
  schema: fileOptionsSchema,
  create(config, ctx) {
    const tailer = new FileTailer(config, ctx);
    return {
      start: () => tailer.start(),
      stop: () => tailer.stop(),
      async check() {
        const { files, problems } = new PathMatcher(config.paths, config.exclude).scan();
        return { ok: problems.length === 0, detail: problems.length ? problems.join('; ') : `${files.length} file(s) match` };
      },
    };
  },
});

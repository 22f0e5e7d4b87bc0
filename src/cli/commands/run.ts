// `brainstem run`: the daemon in the foreground until SIGINT/SIGTERM.
import { createLogger } from '../../log/logger.js';
import { Daemon } from '../../daemon/daemon.js';
import { loadConfigOrExit, type Command } from '../common.js';

export const runCommand: Command = {
  name: 'run',
  summary: 'run the daemon in the foreground (SIGINT/SIGTERM stop it gracefully)',
  usage: 'brainstem run [-c FILE]',
  options: {},
  async run({ configPath }) {
    const loaded = await loadConfigOrExit(configPath);
    const logger = createLogger({ level: loaded.config.log.level });
    const daemon = await Daemon.start(loaded, logger);
    await new Promise<void>((resolveStop) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'stopping');
        const deadline = setTimeout(() => {
          logger.error(`graceful stop took longer than ${loaded.config.shutdown_timeout} ms; exiting`);
          process.exit(1);
        }, loaded.config.shutdown_timeout);
        deadline.unref();
        daemon.stop().then(resolveStop, (err) => {
          logger.error({ err }, 'stop failed');
          process.exit(1);
        });
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
    return 0;
  },
};

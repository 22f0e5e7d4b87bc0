// `brainstem run`: the daemon in the foreground. SIGINT/SIGTERM stop it gracefully within
// `shutdown_timeout`; SIGHUP re-reads the config file and applies it (an invalid file is
// rejected with the reason logged, and the running config stays in force).
import { ConfigError, loadConfig } from '../../config/load.js';
import { createLogger } from '../../log/logger.js';
import { Daemon } from '../../daemon/daemon.js';
import { loadConfigOrExit, type Command } from '../common.js';

export const runCommand: Command = {
  name: 'run',
  summary: 'run the daemon in the foreground (SIGINT/SIGTERM stop it gracefully, SIGHUP reloads the config)',
  usage: 'brainstem run [-c FILE]',
  options: {},
  async run({ configPath }) {
    const loaded = await loadConfigOrExit(configPath);
    const logger = createLogger({ level: loaded.config.log.level });
    // a SIGHUP while starting is applied once started (its default action would kill the process)
    let hupWhileStarting = false;
    const early = () => { hupWhileStarting = true; };
    process.on('SIGHUP', early);
    const daemon = await Daemon.start(loaded, logger);
    process.off('SIGHUP', early);
    logger.info({ config: configPath }, 'brainstem running (SIGHUP reloads the config, SIGTERM stops)');

    const reload = async () => {
      let next;
      try {
        next = await loadConfig(configPath);
      } catch (err) {
        const issues = err instanceof ConfigError ? err.issues.map((i) => i.message && `${i.path ? `${i.path}: ` : ''}${i.message}`) : undefined;
        logger.error({ reason: (err as Error).message, issues }, 'config reload rejected; the running config stays in force');
        return;
      }
      try {
        await daemon.reload(next);
      } catch (err) {
        logger.error({ err }, 'config reload failed');
      }
    };
    let stopping = false;
    // keep a listener while stopping too: without one, SIGHUP's default action kills the process
    process.on('SIGHUP', () => { if (!stopping) void reload(); });
    if (hupWhileStarting) void reload();

    await new Promise<void>((resolveStop) => {
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'stopping');
        const deadline = setTimeout(() => {
          logger.error(`graceful stop took longer than ${daemon.loaded.config.shutdown_timeout} ms; exiting`);
          process.exit(1);
        }, daemon.loaded.config.shutdown_timeout);
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

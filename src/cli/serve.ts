import { DEFAULT_CONFIG_PATH } from '../config/defaults.js';
import { loadConfig, type ConfigOverrides } from '../config/load.js';
import { startDaemon } from '../daemon/daemon.js';
import { createLogger } from '../logger.js';

export interface ServeFlags extends ConfigOverrides {
  config?: string;
}

/** Runs the daemon until SIGTERM or SIGINT; a second signal exits at once, still removing the socket and closing the database. */
export async function serve(flags: ServeFlags): Promise<void> {
  const config = await loadConfig({
    path: flags.config ?? DEFAULT_CONFIG_PATH,
    required: flags.config !== undefined,
    overrides: { root: flags.root, state: flags.state, socket: flags.socket, log_level: flags.log_level },
  });
  const log = createLogger(config.log_level);
  const daemon = await startDaemon(config, log);
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      daemon.abort();
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    daemon.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

// Entry point: load config, start, and stop gracefully on SIGINT/SIGTERM (the Supervisor sends
// SIGTERM and waits `timeout` seconds, 10 by default, before killing).
import { createApp } from './app.js';
import { ConfigError, isAddon, loadConfig } from './config/load.js';
import { PortInUseError } from './core/listen.js';
import { chooseLogFormat } from './logging/logger.js';

const STOP_DEADLINE_MS = 8_000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`switchboard: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const app = createApp(config, {
    logFormat: chooseLogFormat({ addon: isAddon(process.env), tty: process.stdout.isTTY === true }),
  });
  const { logger } = app.context;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const deadline = setTimeout(() => {
      logger.error('graceful stop took too long; exiting');
      process.exit(1);
    }, STOP_DEADLINE_MS);
    deadline.unref();
    await app.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled promise rejection'));
  try {
    await app.start();
  } catch (err) {
    if (err instanceof PortInUseError) {
      // The operator's fix is a setting: one line naming the port and the option, no stack.
      process.stderr.write(`switchboard: cannot start: ${err.message}\n`);
      await app.stop().catch(() => undefined);
      process.exit(1);
    }
    logger.fatal({ err }, 'failed to start');
    await app.stop().catch(() => undefined);
    process.exit(1);
  }
}

void main();

// Loads the V4L2 driver if this build has it and it can run here (koffi loads, we are on Linux).
// It is imported dynamically so that a machine where it cannot load still runs on simulated cameras.
import { existsSync, readdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { CameraDriver } from './driver.js';

/** Named in log lines; the import below spells it out because a bundler only follows a literal. */
const V4L2_MODULE = './drivers/v4l2/index.js';

type DriverClass = new () => CameraDriver;

const isDriverClass = (v: unknown): v is DriverClass =>
  typeof v === 'function' && typeof (v as { prototype?: { discover?: unknown } }).prototype?.discover === 'function' && typeof (v as { prototype?: { open?: unknown } }).prototype?.open === 'function';

/** The V4L2 driver, or null (with one log line saying why) when it is missing or cannot load. */
export async function loadV4l2Driver(logger: Logger): Promise<CameraDriver | null> {
  try {
    const mod: Record<string, unknown> = await import('./drivers/v4l2/index.js');
    const Driver = Object.values(mod).find(isDriverClass);
    if (!Driver) {
      logger.warn({ module: V4L2_MODULE }, 'the V4L2 driver module exports no driver class; using simulated cameras only');
      return null;
    }
    const driver = new Driver();
    if (driver.name !== 'v4l2') {
      logger.warn({ module: V4L2_MODULE, name: driver.name }, 'the V4L2 driver module exports an unexpected driver; using simulated cameras only');
      return null;
    }
    return driver;
  } catch (err) {
    logger.warn({ module: V4L2_MODULE, reason: (err as Error).message }, 'V4L2 driver not available; using simulated cameras only');
    return null;
  }
}

/**
 * Whether a V4L2 node exists to open: one of `devices` when configured, else any /dev/videoN. The
 * driver (koffi, an FFI runtime of several MB) is only loaded once this is true.
 */
export function videoNodesPresent(devices: readonly string[], devDir = '/dev'): boolean {
  if (devices.length) return devices.some((path) => existsSync(path));
  try {
    return readdirSync(devDir).some((name) => /^video\d+$/.test(name));
  } catch {
    return false;
  }
}

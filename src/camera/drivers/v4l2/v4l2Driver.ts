// The `v4l2` camera driver: real ioctls on /dev/video* through koffi (see libc.ts for why koffi).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CameraDriverError, type CameraDevice, type CameraDriver, type DeviceInfo } from '../../driver.js';
import { queryDevice, V4l2Device } from './v4l2Device.js';

export interface V4l2DriverOptions {
  /** Where the video nodes live; tests point this elsewhere. */
  devDir?: string;
}

export class V4l2Driver implements CameraDriver {
  readonly name = 'v4l2' as const;
  private readonly devDir: string;

  constructor(options: V4l2DriverOptions = {}) {
    this.devDir = options.devDir ?? '/dev';
  }

  /** Capture nodes present now; nodes that vanish or refuse to open mid-scan are skipped (the next rescan sees them again). */
  discover(): DeviceInfo[] {
    let names: string[];
    try {
      names = readdirSync(this.devDir);
    } catch {
      return [];
    }
    const nodes = names
      .filter((name) => /^video\d+$/.test(name))
      .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
    const devices: DeviceInfo[] = [];
    for (const name of nodes) {
      try {
        const info = queryDevice(join(this.devDir, name));
        if (info.isCapture) devices.push(info);
      } catch (error) {
        if (!(error instanceof CameraDriverError)) throw error;
      }
    }
    return devices;
  }

  open(path: string): CameraDevice {
    return new V4l2Device(path);
  }
}

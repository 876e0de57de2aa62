import { describe, expect, it } from 'vitest';
import { CameraDriverError } from '../../src/camera/driver.js';
import { SimulatedDriver, simulatedFrameRates } from '../../src/camera/drivers/simulated/simulatedDriver.js';
import { thrownBy } from '../helpers/thrown.js';

const errorOf = (fn: () => unknown) => thrownBy(CameraDriverError, fn);

describe('simulated driver (vivid)', () => {
  it('offers vivid\'s controls with their ranges, defaults and flags', () => {
    const driver = new SimulatedDriver();
    const dev = driver.open(driver.add());
    const byKey = new Map(dev.listControls().map((c) => [c.key, c]));
    expect(byKey.get('brightness')).toMatchObject({ id: 0x00980900, minimum: 0, maximum: 255, step: 1, default: 128, type: 'integer' });
    expect(byKey.get('hue')).toMatchObject({ minimum: -128, maximum: 128, default: 0 });
    expect(byKey.get('gain')).toMatchObject({ id: 0x00980913, maximum: 255, default: 100 });
    expect(byKey.get('gain')?.flags.inactive).toBe(true);
    expect(byKey.get('menu')?.menu?.map((m) => m.index)).toEqual([1, 3, 4]);
    expect(byKey.get('integer_menu')?.menu?.find((m) => m.index === 4)?.value).toBe(5);
    expect(byKey.get('read_only_integer_32_bits')?.flags.readOnly).toBe(true);
    expect(byKey.get('test_pattern')?.menu).toHaveLength(22);
    expect(dev.getControl(0x00980913)).toBe(17);
    expect(dev.getControl(0x0098f904)).toBe(3);
  });

  it('clamps integers, refuses read-only, write-only, skipped menu items and unknown ids like the kernel', () => {
    const driver = new SimulatedDriver();
    const dev = driver.open(driver.add());
    dev.setControl(0x00980900, 300);
    expect(dev.getControl(0x00980900)).toBe(255);
    dev.setControl(0x00980903, -500);
    expect(dev.getControl(0x00980903)).toBe(-128);
    expect(errorOf(() => dev.setControl(0x0098f90c, 1)).code).toBe('EACCES');
    expect(errorOf(() => dev.getControl(0x0098f900)).code).toBe('EACCES');
    expect(errorOf(() => dev.setControl(0x0098f904, 2)).code).toBe('EINVAL');
    expect(errorOf(() => dev.setControl(0x12345678, 1)).code).toBe('EINVAL');
    expect(errorOf(() => dev.getControl(0x0098f905)).code).toBe('EINVAL');
    dev.setControl(0x00980912, 0);
    expect(dev.listControls().find((c) => c.key === 'gain')?.flags.inactive).toBe(false);
  });

  it('chooses the nearest size and frame rate, with fewer rates at larger sizes', () => {
    const driver = new SimulatedDriver();
    const dev = driver.open(driver.add());
    expect(dev.getFormat()).toEqual({ fourcc: 'YUYV', width: 640, height: 360 });
    expect(dev.setFormat({ width: 1280, height: 700 })).toEqual({ fourcc: 'YUYV', width: 1280, height: 720 });
    expect(dev.getFrameRate()).toBe(12.5); // 1280x720 offers up to 12.5 fps: the rate was lowered
    expect(dev.setFrameRate(30)).toBe(12.5);
    dev.setFormat({ width: 320, height: 180 });
    expect(dev.setFrameRate(60)).toBe(60);
    expect(simulatedFrameRates({ width: 3840, height: 2160 })).toEqual([1, 2]);
    expect(dev.listInputs().map((i) => i.name)).toEqual(['Webcam 0', 'TV 1', 'S-Video 2', 'HDMI 3']);
    dev.setInput(2);
    expect(dev.getInput()).toBe(2);
    expect(errorOf(() => dev.setInput(4)).code).toBe('EINVAL');
  });

  it('unplugging fails open handles with ENODEV and hides the device; a replugged device starts fresh', () => {
    const driver = new SimulatedDriver();
    const path = driver.add();
    const dev = driver.open(path);
    dev.setControl(0x00980900, 200);
    driver.unplug(path);
    const gone = errorOf(() => dev.getControl(0x00980900));
    expect(gone.code).toBe('ENODEV');
    expect(gone.isGone).toBe(true);
    expect(driver.discover()).toEqual([]);
    expect(errorOf(() => driver.open(path)).code).toBe('ENOENT');
    driver.add(path);
    expect(errorOf(() => dev.getControl(0x00980900)).code).toBe('ENODEV'); // the old handle stays dead
    const again = driver.open(path);
    expect(again.getControl(0x00980900)).toBe(128); // a replugged device starts from its defaults
  });
});

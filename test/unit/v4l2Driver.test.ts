// The v4l2 driver on a machine without cameras: real libc calls through koffi, with errors from
// the kernel turned into typed CameraDriverErrors. The real device is exercised in the vivid VM
// (test/integration/v4l2Vm.test.ts).
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CameraDriverError } from '../../src/camera/driver.js';
import { errnoToCode } from '../../src/camera/drivers/v4l2/libc.js';
import { controlKey, fourccToString, stringToFourcc } from '../../src/camera/drivers/v4l2/structs.js';
import { captureBufferType } from '../../src/camera/drivers/v4l2/v4l2Device.js';
import { V4l2Driver } from '../../src/camera/drivers/v4l2/v4l2Driver.js';
import { thrownBy } from '../helpers/thrown.js';

const driverError = (fn: () => unknown) => thrownBy(CameraDriverError, fn);

describe('v4l2 driver errors', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('a missing node is ENOENT and counts as gone', () => {
    const error = driverError(() => new V4l2Driver().open('/dev/video-does-not-exist'));
    expect(error).toMatchObject({ code: 'ENOENT', op: 'open', path: '/dev/video-does-not-exist', isGone: true });
  });

  it('a node that is not a V4L2 device fails QUERYCAP with ENOTTY', () => {
    const error = driverError(() => new V4l2Driver().open('/dev/null'));
    expect(error).toMatchObject({ code: 'ENOTTY', op: 'VIDIOC_QUERYCAP', path: '/dev/null', isGone: false });
    expect(error.message).toBe('VIDIOC_QUERYCAP on /dev/null failed: ENOTTY');
  });

  it('a regular file refuses the ioctl too, and the process lives on', () => {
    const dir = mkdtempSync(join(tmpdir(), 'v4l2-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'video0'), 'not a device');
    expect(driverError(() => new V4l2Driver().open(join(dir, 'video0'))).code).toBe('ENOTTY');
  });

  it('discover lists only capture devices and skips nodes that fail', () => {
    const dir = mkdtempSync(join(tmpdir(), 'v4l2-'));
    dirs.push(dir);
    symlinkSync('/dev/null', join(dir, 'video0'));
    writeFileSync(join(dir, 'video1'), '');
    symlinkSync('/nonexistent', join(dir, 'video2'));
    writeFileSync(join(dir, 'videoX'), '');
    expect(new V4l2Driver({ devDir: dir }).discover()).toEqual([]);
    expect(new V4l2Driver({ devDir: join(dir, 'missing') }).discover()).toEqual([]);
  });

  it('maps errno numbers to codes; unplug-style errors are gone', () => {
    expect(errnoToCode(22)).toBe('EINVAL');
    expect(errnoToCode(16)).toBe('EBUSY');
    expect(errnoToCode(34)).toBe('ERANGE');
    expect(errnoToCode(19)).toBe('ENODEV');
    expect(errnoToCode(6)).toBe('ENODEV'); // ENXIO
    expect(errnoToCode(25)).toBe('ENOTTY');
    expect(errnoToCode(12)).toBe('EUNKNOWN'); // ENOMEM
    expect(new CameraDriverError(errnoToCode(19), 'VIDIOC_G_CTRL', '/dev/video0').isGone).toBe(true);
  });
});

describe('v4l2 helpers', () => {
  it('builds v4l2-ctl control keys', () => {
    expect(controlKey('Brightness')).toBe('brightness');
    expect(controlKey('Gain, Automatic')).toBe('gain_automatic');
    expect(controlKey('Integer 32 Bits')).toBe('integer_32_bits');
    expect(controlKey('U8 2x3x4x5 Array')).toBe('u8_2x3x4x5_array');
    expect(controlKey('Read-Only Integer 32 Bits')).toBe('read_only_integer_32_bits');
    expect(controlKey('  White Balance (Auto) ')).toBe('white_balance_auto');
  });

  it('converts FourCCs both ways', () => {
    expect(fourccToString(0x56595559)).toBe('YUYV');
    expect(stringToFourcc('YUYV')).toBe(0x56595559);
    expect(stringToFourcc('MJPG')).toBe(0x47504a4d);
    expect(fourccToString(stringToFourcc('Y10'))).toBe('Y10');
    // Big-endian variants (bit 31) read as v4l2-ctl prints them.
    expect(fourccToString(0xa0363159)).toBe('Y16 -BE');
    expect(stringToFourcc('Y16 -BE')).toBe(0xa0363159);
  });

  it('picks the capture buffer type from device_caps when present', () => {
    const DEVICE_CAPS = 0x80000000;
    expect(captureBufferType({ capabilities: DEVICE_CAPS | 0x1 | 0x2, device_caps: 0x1 })).toBe(1);
    expect(captureBufferType({ capabilities: DEVICE_CAPS | 0x1 | 0x2, device_caps: 0x2 })).toBeNull();
    expect(captureBufferType({ capabilities: DEVICE_CAPS | 0x1000, device_caps: 0x1000 })).toBe(9);
    expect(captureBufferType({ capabilities: 0x1, device_caps: 0 })).toBe(1);
  });
});

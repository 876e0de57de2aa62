// Struct layouts and ioctl numbers against the kernel's linux/videodev2.h on x86_64/arm64 (LP64):
// the expected values are hard-coded from the UAPI header, not computed by the code under test.
import koffi from 'koffi';
import { describe, expect, it } from 'vitest';
import * as uapi from '../../src/camera/drivers/v4l2/uapi.js';
import { VIDIOC, ioc } from '../../src/camera/drivers/v4l2/uapi.js';
import { intervalToFps, stepwiseFps } from '../../src/camera/drivers/v4l2/v4l2Device.js';

describe.runIf(process.arch === 'x64' || process.arch === 'arm64')('V4L2 UAPI layouts (LP64)', () => {
  it.each([
    ['v4l2_capability', uapi.v4l2_capability, 104],
    ['v4l2_queryctrl', uapi.v4l2_queryctrl, 68],
    ['v4l2_query_ext_ctrl', uapi.v4l2_query_ext_ctrl, 232],
    ['v4l2_querymenu', uapi.v4l2_querymenu, 44],
    ['v4l2_ext_control', uapi.v4l2_ext_control, 20],
    ['v4l2_ext_controls', uapi.v4l2_ext_controls, 32],
    ['v4l2_control', uapi.v4l2_control, 8],
    ['v4l2_fmtdesc', uapi.v4l2_fmtdesc, 64],
    ['v4l2_frmsizeenum', uapi.v4l2_frmsizeenum, 44],
    ['v4l2_frmival_stepwise', uapi.v4l2_frmival_stepwise, 24],
    ['v4l2_frmivalenum', uapi.v4l2_frmivalenum, 52],
    ['v4l2_pix_format', uapi.v4l2_pix_format, 48],
    ['v4l2_format', uapi.v4l2_format, 208],
    ['v4l2_captureparm', uapi.v4l2_captureparm, 40],
    ['v4l2_streamparm', uapi.v4l2_streamparm, 204],
    ['v4l2_input', uapi.v4l2_input, 80],
  ])('sizeof(%s) is %i', (_name, type, size) => {
    expect(koffi.sizeof(type)).toBe(size);
  });

  it.each([
    [uapi.v4l2_capability, { driver: 0, card: 16, bus_info: 48, version: 80, capabilities: 84, device_caps: 88, reserved: 92 }],
    [uapi.v4l2_queryctrl, { id: 0, type: 4, name: 8, minimum: 40, maximum: 44, step: 48, default_value: 52, flags: 56, reserved: 60 }],
    [uapi.v4l2_query_ext_ctrl, { id: 0, type: 4, name: 8, minimum: 40, maximum: 48, step: 56, default_value: 64, flags: 72, elem_size: 76, elems: 80, nr_of_dims: 84, dims: 88, reserved: 104 }],
    // packed: the value union follows reserved2 directly at 12.
    [uapi.v4l2_ext_control, { id: 0, size: 4, reserved2: 8, u: 12 }],
    [uapi.v4l2_ext_controls, { which: 0, count: 4, error_idx: 8, request_fd: 12, reserved: 16, controls: 24 }],
    // packed: the union (name[32] / __s64 value) starts at 8 and reserved right after it at 40.
    [uapi.v4l2_querymenu, { id: 0, index: 4, u: 8, reserved: 40 }],
    [uapi.v4l2_control, { id: 0, value: 4 }],
    [uapi.v4l2_fmtdesc, { index: 0, type: 4, flags: 8, description: 12, pixelformat: 44, mbus_code: 48, reserved: 52 }],
    [uapi.v4l2_frmsizeenum, { index: 0, pixel_format: 4, type: 8, u: 12, reserved: 36 }],
    [uapi.v4l2_frmivalenum, { index: 0, pixel_format: 4, width: 8, height: 12, type: 16, u: 20, reserved: 44 }],
    [uapi.v4l2_frmival_stepwise, { min: 0, max: 8, step: 16 }],
    [uapi.v4l2_frmsize_stepwise, { min_width: 0, max_width: 4, step_width: 8, min_height: 12, max_height: 16, step_height: 20 }],
    [uapi.v4l2_pix_format, { width: 0, height: 4, pixelformat: 8, field: 12, bytesperline: 16, sizeimage: 20, colorspace: 24, priv: 28, flags: 32, enc: 36, quantization: 40, xfer_func: 44 }],
    // the fmt union is pointer-aligned (v4l2_window holds pointers): 4 bytes of padding after type.
    [uapi.v4l2_format, { type: 0, fmt: 8 }],
    [uapi.v4l2_streamparm, { type: 0, parm: 4 }],
    [uapi.v4l2_captureparm, { capability: 0, capturemode: 4, timeperframe: 8, extendedmode: 16, readbuffers: 20, reserved: 24 }],
    [uapi.v4l2_input, { index: 0, name: 4, type: 36, audioset: 40, tuner: 44, std: 48, status: 56, capabilities: 60, reserved: 64 }],
  ])('member offsets of %#', (type, offsets) => {
    for (const [member, offset] of Object.entries(offsets)) {
      expect({ member, offset: koffi.offsetof(type, member) }).toEqual({ member, offset });
    }
  });

  it('the packed querymenu keeps its 64-bit value unaligned and alignment 1', () => {
    expect(koffi.alignof(uapi.v4l2_querymenu)).toBe(1);
    expect(koffi.alignof(uapi.v4l2_ext_control)).toBe(1);
    expect(koffi.alignof(uapi.v4l2_format)).toBe(8);
  });

  it('ioctl numbers equal the kernel values', () => {
    expect(VIDIOC).toEqual({
      QUERYCAP: 0x80685600,
      ENUM_FMT: 0xc0405602,
      G_FMT: 0xc0d05604,
      S_FMT: 0xc0d05605,
      G_PARM: 0xc0cc5615,
      S_PARM: 0xc0cc5616,
      ENUMINPUT: 0xc050561a,
      G_CTRL: 0xc008561b,
      S_CTRL: 0xc008561c,
      QUERYCTRL: 0xc0445624,
      QUERYMENU: 0xc02c5625,
      G_INPUT: 0x80045626,
      S_INPUT: 0xc0045627,
      G_EXT_CTRLS: 0xc0205647,
      S_EXT_CTRLS: 0xc0205648,
      ENUM_FRAMESIZES: 0xc02c564a,
      ENUM_FRAMEINTERVALS: 0xc034564b,
      QUERY_EXT_CTRL: 0xc0e85667,
    });
  });
});

describe('_IOC encoding', () => {
  it('packs direction, size, type and number like asm-generic/ioctl.h', () => {
    expect(ioc(0, 'V', 0, 0)).toBe(0x00005600);
    expect(ioc(1, 'V', 1, 4)).toBe(0x40045601);
    expect(ioc(2, 'V', 0xff, 0x3fff)).toBe(0xbfff56ff);
    expect(ioc(3, 'V', 0, 0)).toBe(0xc0005600);
  });
});

describe('frame intervals as frame rates', () => {
  it('turns discrete intervals into frames per second to 1/100', () => {
    expect(intervalToFps({ numerator: 1, denominator: 30 })).toBe(30);
    expect(intervalToFps({ numerator: 2, denominator: 25 })).toBe(12.5);
    expect(intervalToFps({ numerator: 1001, denominator: 30000 })).toBe(29.97);
    expect(intervalToFps({ numerator: 0, denominator: 30 })).toBeNull();
  });

  it('offers the common rates inside a stepwise or continuous interval range', () => {
    const fract = (numerator: number, denominator: number) => ({ numerator, denominator });
    // 1/30 s .. 1/5 s in steps of 1/30 s: intervals 1/30, 2/30 (15 fps), 3/30 (10 fps), 6/30 (5 fps).
    expect(stepwiseFps({ min: fract(1, 30), max: fract(1, 5), step: fract(1, 30) }, false)).toEqual([5, 10, 15, 30]);
    expect(stepwiseFps({ min: fract(1, 30), max: fract(1, 5), step: fract(1, 30) }, true)).toEqual([5, 10, 15, 20, 24, 25, 30]);
    expect(stepwiseFps({ min: fract(1, 60), max: fract(1, 1), step: fract(1, 1) }, true)).toEqual([5, 10, 15, 20, 24, 25, 30, 50, 60]);
    expect(stepwiseFps({ min: fract(0, 0), max: fract(1, 1), step: fract(1, 1) }, true)).toEqual([]);
  });
});

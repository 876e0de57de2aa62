// The kernel's V4L2 user-space API (include/uapi/linux/videodev2.h): struct layouts, ioctl numbers
// and the constants the driver uses. Structs are declared through koffi so their sizes and offsets
// follow the C ABI of the machine we run on (pointer-aligned unions differ between 32- and 64-bit),
// and ioctl numbers are computed from those sizes exactly as the _IOC macros do.
import koffi from 'koffi';

const u32 = 'uint32_t';
const s32 = 'int32_t';
const s64 = 'int64_t';
const char = (n: number) => koffi.array('char', n);
const u32s = (n: number) => koffi.array(u32, n);

export const v4l2_capability = koffi.struct({
  driver: char(16),
  card: char(32),
  bus_info: char(32),
  version: u32,
  capabilities: u32,
  device_caps: u32,
  reserved: u32s(3),
});

export const v4l2_queryctrl = koffi.struct({
  id: u32,
  type: u32,
  name: char(32),
  minimum: s32,
  maximum: s32,
  step: s32,
  default_value: s32,
  flags: u32,
  reserved: u32s(2),
});

// __attribute__((packed)) in the kernel: the int64 member of the union sits at offset 8, unaligned.
export const v4l2_querymenu = koffi.pack({
  id: u32,
  index: u32,
  u: koffi.union({ name: char(32), value: s64 }),
  reserved: u32,
});

export const v4l2_query_ext_ctrl = koffi.struct({
  id: u32,
  type: u32,
  name: char(32),
  minimum: s64,
  maximum: s64,
  step: 'uint64_t',
  default_value: s64,
  flags: u32,
  elem_size: u32,
  elems: u32,
  nr_of_dims: u32,
  dims: u32s(4),
  reserved: u32s(32),
});

export const v4l2_control = koffi.struct({ id: u32, value: s32 });

// Packed in the kernel too; the union holds value/value64 or a payload pointer.
export const v4l2_ext_control = koffi.pack({
  id: u32,
  size: u32,
  reserved2: u32s(1),
  u: koffi.union({ value: s32, value64: s64, ptr: 'void *' }),
});

export const v4l2_ext_controls = koffi.struct({
  which: u32,
  count: u32,
  error_idx: u32,
  request_fd: s32,
  reserved: u32s(1),
  controls: 'void *',
});

export const v4l2_fmtdesc = koffi.struct({
  index: u32,
  type: u32,
  flags: u32,
  description: char(32),
  pixelformat: u32,
  mbus_code: u32,
  reserved: u32s(3),
});

export const v4l2_frmsize_discrete = koffi.struct({ width: u32, height: u32 });
export const v4l2_frmsize_stepwise = koffi.struct({
  min_width: u32,
  max_width: u32,
  step_width: u32,
  min_height: u32,
  max_height: u32,
  step_height: u32,
});

export const v4l2_frmsizeenum = koffi.struct({
  index: u32,
  pixel_format: u32,
  type: u32,
  u: koffi.union({ discrete: v4l2_frmsize_discrete, stepwise: v4l2_frmsize_stepwise }),
  reserved: u32s(2),
});

export const v4l2_fract = koffi.struct({ numerator: u32, denominator: u32 });

export const v4l2_frmival_stepwise = koffi.struct({ min: v4l2_fract, max: v4l2_fract, step: v4l2_fract });

export const v4l2_frmivalenum = koffi.struct({
  index: u32,
  pixel_format: u32,
  width: u32,
  height: u32,
  type: u32,
  u: koffi.union({ discrete: v4l2_fract, stepwise: v4l2_frmival_stepwise }),
  reserved: u32s(2),
});

// v4l2_pix_format_mplane starts with the same width/height/pixelformat, so one view serves both.
export const v4l2_pix_format = koffi.struct({
  width: u32,
  height: u32,
  pixelformat: u32,
  field: u32,
  bytesperline: u32,
  sizeimage: u32,
  colorspace: u32,
  priv: u32,
  flags: u32,
  enc: u32,
  quantization: u32,
  xfer_func: u32,
});

// The kernel's union also holds v4l2_window, which contains pointers: the pointer member here
// reproduces that alignment (8 on 64-bit: sizeof 208; 4 on 32-bit: 204).
export const v4l2_format = koffi.struct({
  type: u32,
  fmt: koffi.union({ pix: v4l2_pix_format, raw_data: koffi.array('uint8_t', 200), align: 'void *' }),
});

export const v4l2_captureparm = koffi.struct({
  capability: u32,
  capturemode: u32,
  timeperframe: v4l2_fract,
  extendedmode: u32,
  readbuffers: u32,
  reserved: u32s(4),
});

export const v4l2_streamparm = koffi.struct({
  type: u32,
  parm: koffi.union({ capture: v4l2_captureparm, raw_data: koffi.array('uint8_t', 200) }),
});

export const v4l2_input = koffi.struct({
  index: u32,
  name: char(32),
  type: u32,
  audioset: u32,
  tuner: u32,
  std: 'uint64_t',
  status: u32,
  capabilities: u32,
  reserved: u32s(3),
});

// asm-generic/ioctl.h: nr 8 bits, type 8 bits, size 14 bits, dir 2 bits (x86, arm, arm64, riscv).
const IOC_WRITE = 1;
const IOC_READ = 2;
export function ioc(dir: number, type: string, nr: number, size: number): number {
  // >>> 0 keeps the result an unsigned 32-bit number (the read bit is bit 31).
  return ((dir << 30) | (size << 16) | (type.charCodeAt(0) << 8) | nr) >>> 0;
}
const ior = (nr: number, size: number) => ioc(IOC_READ, 'V', nr, size);
const iowr = (nr: number, size: number) => ioc(IOC_READ | IOC_WRITE, 'V', nr, size);
const INT_SIZE = 4;

export const VIDIOC = {
  QUERYCAP: ior(0, koffi.sizeof(v4l2_capability)),
  ENUM_FMT: iowr(2, koffi.sizeof(v4l2_fmtdesc)),
  G_FMT: iowr(4, koffi.sizeof(v4l2_format)),
  S_FMT: iowr(5, koffi.sizeof(v4l2_format)),
  G_PARM: iowr(21, koffi.sizeof(v4l2_streamparm)),
  S_PARM: iowr(22, koffi.sizeof(v4l2_streamparm)),
  ENUMINPUT: iowr(26, koffi.sizeof(v4l2_input)),
  G_CTRL: iowr(27, koffi.sizeof(v4l2_control)),
  S_CTRL: iowr(28, koffi.sizeof(v4l2_control)),
  QUERYCTRL: iowr(36, koffi.sizeof(v4l2_queryctrl)),
  QUERYMENU: iowr(37, koffi.sizeof(v4l2_querymenu)),
  G_INPUT: ior(38, INT_SIZE),
  S_INPUT: iowr(39, INT_SIZE),
  G_EXT_CTRLS: iowr(71, koffi.sizeof(v4l2_ext_controls)),
  S_EXT_CTRLS: iowr(72, koffi.sizeof(v4l2_ext_controls)),
  ENUM_FRAMESIZES: iowr(74, koffi.sizeof(v4l2_frmsizeenum)),
  ENUM_FRAMEINTERVALS: iowr(75, koffi.sizeof(v4l2_frmivalenum)),
  QUERY_EXT_CTRL: iowr(103, koffi.sizeof(v4l2_query_ext_ctrl)),
} as const;

export type IoctlName = keyof typeof VIDIOC;

export const V4L2_CAP_VIDEO_CAPTURE = 0x00000001;
export const V4L2_CAP_VIDEO_CAPTURE_MPLANE = 0x00001000;
export const V4L2_CAP_DEVICE_CAPS = 0x80000000;

export const V4L2_BUF_TYPE_VIDEO_CAPTURE = 1;
export const V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE = 9;

/** v4l2_captureparm.capability: the device supports setting the frame interval. */
export const V4L2_CAP_TIMEPERFRAME = 0x1000;

export const V4L2_CTRL_FLAG_NEXT_CTRL = 0x80000000;
export const V4L2_CTRL_WHICH_CUR_VAL = 0;

export const CTRL_FLAG = {
  DISABLED: 0x0001,
  GRABBED: 0x0002,
  READ_ONLY: 0x0004,
  UPDATE: 0x0008,
  INACTIVE: 0x0010,
  SLIDER: 0x0020,
  WRITE_ONLY: 0x0040,
  VOLATILE: 0x0080,
  HAS_PAYLOAD: 0x0100,
} as const;

export const CTRL_TYPE = {
  INTEGER: 1,
  BOOLEAN: 2,
  MENU: 3,
  BUTTON: 4,
  INTEGER64: 5,
  CTRL_CLASS: 6,
  STRING: 7,
  BITMASK: 8,
  INTEGER_MENU: 9,
} as const;

export const FRMSIZE_TYPE = { DISCRETE: 1, CONTINUOUS: 2, STEPWISE: 3 } as const;
export const FRMIVAL_TYPE = { DISCRETE: 1, CONTINUOUS: 2, STEPWISE: 3 } as const;

/** v4l2_fmtdesc.flags */
export const V4L2_FMT_FLAG_COMPRESSED = 0x0001;

export const INPUT_TYPE = { TUNER: 1, CAMERA: 2, TOUCH: 3 } as const;

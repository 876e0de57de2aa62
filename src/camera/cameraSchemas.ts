// Input validation for camera changes. The messages are user-facing in every protocol (the
// Rotoclear socket sends them as `message`), so they say what a valid value is.
import { z } from 'zod';
import { RANGE_KEYS, SWITCH_KEYS } from './controlCatalog.js';

export const PERCENT_MESSAGE = 'Value must be between 0 and 100';
const PERCENT_TYPE_MESSAGE = 'Value must be an integer between 0 and 100';

export const percent = z
  .number({ invalid_type_error: PERCENT_TYPE_MESSAGE, required_error: PERCENT_TYPE_MESSAGE })
  .int(PERCENT_TYPE_MESSAGE)
  .min(0, PERCENT_MESSAGE)
  .max(100, PERCENT_MESSAGE);

const SWITCH_WORDS: Record<string, boolean> = { on: true, off: false, auto: true, manual: false };

/** true/false, or the words "on"/"off", "auto"/"manual". */
export const onOff = z.unknown().transform((v, ctx) => {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && v in SWITCH_WORDS) return SWITCH_WORDS[v]!;
  ctx.addIssue({ code: 'custom', message: 'Value must be true or false (or "on"/"off", "auto"/"manual")' });
  return z.NEVER;
});

export const boolValue = z.boolean({ invalid_type_error: 'Value must be true or false', required_error: 'Value must be true or false' });

export const resolution = z
  .string({ invalid_type_error: 'Value must be a resolution like "1920x1080"' })
  .regex(/^[1-9]\d{0,4}x[1-9]\d{0,4}$/, 'Value must be a resolution like "1920x1080"');

// Which rates a camera offers is the device's to say (some offer 12.5 fps, large sizes only 1 or 2):
// the shape is checked here, the rate against the device's own list when it is applied.
const FPS_MESSAGE = 'Value must be a frame rate (frames per second, e.g. 30 or 12.5)';
export const fps = z.number({ invalid_type_error: FPS_MESSAGE }).positive(FPS_MESSAGE).max(1000, FPS_MESSAGE);

const SENSOR_MESSAGE = 'Value must be a sensor number (1, 2, ...)';
export const sensor = z.number({ invalid_type_error: SENSOR_MESSAGE }).int(SENSOR_MESSAGE).min(1, SENSOR_MESSAGE).max(64, SENSOR_MESSAGE);

const controlShape = {
  ...Object.fromEntries(RANGE_KEYS.map((k) => [k, percent.optional()])),
  ...Object.fromEntries(SWITCH_KEYS.map((k) => [k, onOff.optional()])),
  resolution: resolution.optional(),
  fps: fps.optional(),
  sensor: sensor.optional(),
} as Record<string, z.ZodTypeAny>;

export interface ControlsInput {
  brightness?: number;
  contrast?: number;
  saturation?: number;
  hue?: number;
  sharpness?: number;
  gain?: number;
  'red-gain'?: number;
  'blue-gain'?: number;
  'auto-exposure'?: boolean;
  'auto-white-balance'?: boolean;
  'noise-supression'?: boolean;
  resolution?: string;
  fps?: number;
  sensor?: number;
}

export const controlsSchema = z.object(controlShape).strict() as unknown as z.ZodType<ControlsInput>;

const DEVICE_CONTROL_MESSAGE = 'Value must be a number, true/false, or a menu item';
export const deviceControlsSchema = z.record(
  z.string().regex(/^[a-z0-9_]{1,64}$/, 'must be a control name like "horizontal_flip"'),
  z.union([z.number(), z.boolean(), z.string().max(64)], { errorMap: () => ({ message: DEVICE_CONTROL_MESSAGE }) }),
).refine((r) => Object.keys(r).length <= 100, 'At most 100 controls in one change');

const slot = z.union([z.literal(1), z.literal(2), z.null()], { errorMap: () => ({ message: 'Value must be 1, 2 or null' }) });
const lightEntity = z
  .string()
  .regex(/^light\.[a-z0-9_]{1,64}$/, 'must be a Home Assistant light entity id like "light.workbench"')
  .nullable();
const name = z.string().trim().min(1, 'must not be empty').max(64);


export const createSchema = z
  .object({
    name: name.optional(),
    driver: z.enum(['simulated', 'v4l2']).default('simulated'),
    device: z.string().regex(/^\/dev\/[A-Za-z0-9_\-/.]+$/, 'must be a /dev path').optional(),
    slot: slot.optional(),
    light_entity: lightEntity.optional(),
  })
  .strict();

const RECORD_MESSAGE = 'Value must be true, false, "on", "off", "pause" or "pause_release"';
export const recordValue = z.union([z.boolean(), z.enum(['on', 'off', 'pause', 'pause_release'])], { errorMap: () => ({ message: RECORD_MESSAGE }) });

/**
 * Any change to a camera, whoever asks (HTTP, NestMTX, Rotoclear, MQTT, the Home Assistant light,
 * the recorder): every field goes through the one path of CameraService.change.
 */
export const changeSchema = z
  .object({
    name: name.optional(),
    slot: slot.optional(),
    light_entity: lightEntity.optional(),
    light: boolValue.optional(),
    /** How bright the light shines (where it has levels); 0 switches it off, above 0 without `light` switches it on. */
    light_brightness: percent.optional(),
    enabled: boolValue.optional(),
    controls: controlsSchema.optional(),
    /** Device controls by stable name, e.g. `{horizontal_flip: true, menu: "Menu Item 3"}`: checked against the device's own ranges. */
    device_controls: deviceControlsSchema.optional(),
    motion: boolValue.optional(),
    /**
     * Motion sensitivity of this camera: pixel change (1–255) and changed share of the picture
     * (0.1–100 %); null goes back to the add-on's `cameras.motion_threshold` / `motion_min_area_percent`.
     */
    motion_threshold: z.number({ invalid_type_error: 'Value must be an integer between 1 and 255, or null' }).int('Value must be an integer between 1 and 255').min(1, 'Value must be an integer between 1 and 255').max(255, 'Value must be an integer between 1 and 255').nullable().optional(),
    motion_min_area_percent: z.number({ invalid_type_error: 'Value must be a number between 0.1 and 100, or null' }).min(0.1, 'Value must be a number between 0.1 and 100').max(100, 'Value must be a number between 0.1 and 100').nullable().optional(),
    /** Recording, as the Rotoclear `record` key and the MQTT switch set it. */
    record: recordValue.optional(),
    /** true takes a snapshot (the Rotoclear `snap` key); false does nothing. */
    snap: boolValue.optional(),
    'jpeg-quality': percent.optional(),
    /** The camera's Stream switch: true holds its stream on (a standing demand) until switched off. */
    stream: boolValue.optional(),
  })
  .strict();

export type CameraChange = z.infer<typeof changeSchema>;

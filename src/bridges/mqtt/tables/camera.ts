// Cameras: one HA device each. Controls act through the camera service exactly like the sockets
// (a brightness set here is broadcast on /api/v1 and camera:* too); the stream switch holds a demand.
import type { Actor } from '../../../auth/records.js';
import type { CameraView } from '../../../camera/cameraRecord.js';
import { STREAM_SWITCH_READER, type CameraService } from '../../../camera/cameraService.js';
import { CAPTURE_SETTINGS, IMAGE_SETTINGS, LIGHT, RANGE_KEYS, SWITCH_KEYS } from '../../../camera/controlCatalog.js';
import { PUBLIC_EVENTS } from '../../../core/events.js';
import { entitySlug } from '../../../core/ids.js';
import type { CommandRefusal, DeviceTable, EntityRow } from '../entities.js';
import { parseDecimal, parseInteger, parseOption, parsePress, parseSwitch } from '../payloads.js';
import { deviceControlRows, imageControlAvailable } from './cameraControls.js';

/** The Event entity's event types: the camera's public events (news, not telemetry). */
export const CAMERA_EVENTS = PUBLIC_EVENTS.camera;

/** The latest JPEG per camera, where the streaming pipeline keeps one, and its motion state. */
export interface SnapshotSource {
  latestSnapshot(cameraId: string): { jpeg: Buffer } | undefined;
  /** null while motion detection has not run. */
  info(cameraId: string): { motion: boolean | null };
}

/** The Generic Camera entity Home Assistant made for a camera's live view, where there is one. */
export interface LiveEntitySource {
  liveEntity(cameraId: string): string | null;
  /** Whether the camera has a live view entry in Home Assistant; show/hide judge the actor. */
  read(cameraId: string): unknown;
  show(actor: Actor, cameraId: string): Promise<unknown>;
  hide(actor: Actor, cameraId: string): Promise<unknown>;
}

export interface CameraTableOptions {
  snapshots?: SnapshotSource;
  liveViews?: LiveEntitySource;
  /** Put before every camera's entity ids, so a second instance's cameras get their own (e.g. "garage"). */
  entityIdPrefix?: string;
  /** A command for the camera was refused (rate-limited by the bridge): becomes `camera:commandRefused`. */
  refused?: (cameraId: string, refusal: CommandRefusal) => void;
}


const onOff = (v: boolean) => (v ? 'ON' : 'OFF');
/** Input names as the driver gives them, numbered where two share a name (options must differ). */
const sensorOptions = (c: CameraView): string[] => {
  const names = c.capabilities.inputs.map((i) => i.name);
  return c.capabilities.inputs.map((i) => (names.filter((n) => n === i.name).length > 1 ? `${i.sensor}: ${i.name}` : i.name));
};
const holdsSwitchDemand = (c: CameraView) => c.reader_list.some((r) => r.type === STREAM_SWITCH_READER.type && r.id === STREAM_SWITCH_READER.id);

/** `actor`: who MQTT commands act as (mqtt.command_role), judged by the permission table. */
export function cameraTable(cameras: CameraService, actor: Actor, { snapshots, liveViews, entityIdPrefix, refused }: CameraTableOptions = {}): DeviceTable<CameraView> {
  // The image settings, from the catalog: 0–100 numbers and on/off switches over the device's controls.
  // Entity keys take underscores: HA entity ids have no hyphens ("red-gain" is red_gain).
  const numberRows: EntityRow<CameraView>[] = RANGE_KEYS.map((key) => ({
    key: key.replace(/-/g, '_'),
    component: 'number',
    name: IMAGE_SETTINGS[key].label,
    icon: IMAGE_SETTINGS[key].icon,
    entity_category: 'config',
    followsDevice: true,
    available: (c) => imageControlAvailable(c, key),
    options: () => ({ min: 0, max: 100, step: 1, mode: 'slider' }),
    applies: (c) => c.controls[key] !== null,
    state: (c) => (c.controls[key] === null ? null : String(c.controls[key])),
    command: async (c, payload) => {
      await cameras.update(actor, c.id, { controls: { [key]: parseInteger(payload, 0, 100) } });
    },
  }));
  const switchRows: EntityRow<CameraView>[] = SWITCH_KEYS.map((key) => ({
    key: key.replace(/-/g, '_'),
    component: 'switch',
    name: IMAGE_SETTINGS[key].label,
    icon: IMAGE_SETTINGS[key].icon,
    entity_category: 'config',
    followsDevice: true,
    available: (c) => imageControlAvailable(c, key),
    applies: (c) => c.controls[key] !== null,
    state: (c) => (c.controls[key] === null ? null : onOff(c.controls[key] === true)),
    command: async (c, payload) => {
      await cameras.update(actor, c.id, { controls: { [key]: parseSwitch(payload, c.controls[key] === true) } });
    },
  }));
  const imageRow: EntityRow<CameraView>[] = snapshots
    ? [{
        key: 'image',
        component: 'camera',
        name: null,
        image: (c) => snapshots.latestSnapshot(c.id)?.jpeg,
        // Dashboard cards read these to find the camera and its live-view entity.
        attributes: (c) => ({ camera_id: c.id, live_entity: liveViews?.liveEntity(c.id) ?? null, device: c.device, card: c.card, enabled: c.enabled }),
      }]
    : [];
  const table: DeviceTable<CameraView> = {
    kind: 'camera',
    domains: ['camera'],
    list: () => cameras.all(),
    id: (c) => c.id,
    device: (c) => ({
      name: c.name,
      model: c.card ?? (c.driver === 'v4l2' ? 'V4L2 camera' : 'Simulated camera'),
      ...(c.kernel_driver ? { model_id: c.kernel_driver } : {}),
      entityIdPrefix: entitySlug([entityIdPrefix, c.name].filter(Boolean).join(' ')) || entitySlug(`camera ${c.id}`),
    }),
    available: (c) => c.exists,
    ...(refused ? { refused: (c: CameraView, refusal: CommandRefusal) => refused(c.id, refusal) } : {}),
    // Topic keys in use: a row's key and its facets' `<key>_<facet>`; a device control never takes one.
    objectRows: (c) => deviceControlRows(cameras, actor, c, new Set(table.rows.flatMap((r) => [r.key, ...(r.facets ?? []).map((f) => `${r.key}_${f.name}`)]))),
    rows: [
      ...imageRow,
      { key: 'ready', component: 'binary_sensor', name: 'Stream ready', device_class: 'running', state: (c) => onOff(c.ready) },
      ...(snapshots ? [motionRow(snapshots)] : []),
      ...motionSettingRows(cameras, actor),
      {
        key: 'readers',
        component: 'sensor',
        name: 'Readers',
        icon: 'mdi:eye',
        // Details, but the card shows them: created enabled.
        entity_category: 'diagnostic',
        enabledByDefault: true,
        state_class: 'measurement',
        state: (c) => String(c.readers),
        // Who is watching: what users open the entity for.
        attributes: (c) => ({ readers: c.reader_list.map((r) => `${r.type}:${r.id}`) }),
      },
      {
        key: 'stream',
        component: 'switch',
        name: 'Stream',
        // Unavailable while the camera is switched off or unplugged; the held demand stays.
        followsDevice: true,
        state: (c) => onOff(holdsSwitchDemand(c)),
        command: async (c, payload) => {
          await cameras.update(actor, c.id, { stream: parseSwitch(payload, holdsSwitchDemand(c)) });
        },
      },
      {
        // Through the camera service like the Rotoclear `record` key: ON while recording or paused.
        key: 'recording',
        component: 'switch',
        name: 'Recording',
        followsDevice: true,
        state: (c) => onOff(c.record !== 'off'),
        command: async (c, payload) => {
          await cameras.update(actor, c.id, { record: parseSwitch(payload, c.record !== 'off') });
        },
      },
      {
        key: 'enabled',
        component: 'switch',
        name: 'Enabled',
        entity_category: 'config',
        state: (c) => onOff(c.enabled),
        command: async (c, payload) => {
          await cameras.update(actor, c.id, { enabled: parseSwitch(payload, c.enabled) });
        },
      },
      {
        key: LIGHT.key,
        component: 'light',
        name: LIGHT.label,
        followsDevice: true,
        // A camera without a light control (and no HA light bound to it) has no light to switch.
        applies: (c) => c.has_light,
        state: (c) => onOff(c.light),
        command: async (c, payload) => {
          await cameras.update(actor, c.id, { light: parseSwitch(payload, c.light) });
        },
        // HA's default light schema with levels: on_command_type "brightness" sends turn_on as one
        // brightness (1–100) and no "ON", so each HA action is one camera change.
        options: (c) => (c.light_brightness === null ? {} : { brightness_scale: 100, on_command_type: 'brightness' }),
        facets: [
          {
            name: 'brightness',
            applies: (c) => c.light_brightness !== null,
            state: (c) => (c.light_brightness === null ? null : String(c.light_brightness)),
            command: async (c, payload) => {
              await cameras.update(actor, c.id, { light_brightness: parseInteger(payload, 0, 100) });
            },
          },
        ],
      },
      ...numberRows,
      ...switchRows,
      {
        key: 'resolution',
        component: 'select',
        name: CAPTURE_SETTINGS.resolution.label,
        icon: CAPTURE_SETTINGS.resolution.icon,
        entity_category: 'config',
        followsDevice: true,
        options: (c) => ({ options: [...c.resolutions] }),
        applies: (c) => c.resolutions.length > 0,
        state: (c) => c.controls.resolution,
        command: async (c, payload) => {
          await cameras.update(actor, c.id, { controls: { resolution: parseOption(payload, c.resolutions) } });
        },
      },
      {
        key: 'fps',
        component: 'select',
        name: CAPTURE_SETTINGS.fps.label,
        icon: CAPTURE_SETTINGS.fps.icon,
        entity_category: 'config',
        followsDevice: true,
        options: (c) => ({ options: c.fps_options.map(String) }),
        applies: (c) => c.fps_options.length > 0,
        state: (c) => (c.controls.fps === null ? null : String(c.controls.fps)),
        command: async (c, payload) => {
          await cameras.update(actor, c.id, { controls: { fps: Number(parseOption(payload, c.fps_options.map(String))) } });
        },
      },
      {
        // The V4L2 input (Rotoclear camN-sensor), by the driver's name for it; only where there is a choice.
        key: 'sensor',
        component: 'select',
        name: CAPTURE_SETTINGS.sensor.label,
        icon: CAPTURE_SETTINGS.sensor.icon,
        entity_category: 'config',
        followsDevice: true,
        options: (c) => ({ options: sensorOptions(c) }),
        applies: (c) => c.capabilities.inputs.length > 1,
        state: (c) => (c.controls.sensor === null ? null : (sensorOptions(c)[c.controls.sensor - 1] ?? null)),
        command: async (c, payload) => {
          const options = sensorOptions(c);
          await cameras.update(actor, c.id, { controls: { sensor: options.indexOf(parseOption(payload, options)) + 1 } });
        },
      },
      {
        key: 'snapshot',
        component: 'button',
        name: 'Take snapshot',
        icon: 'mdi:camera',
        followsDevice: true,
        command: async (c, payload) => {
          parsePress(payload);
          await cameras.update(actor, c.id, { snap: true });
        },
      },
      ...(liveViews ? [liveViewRow(liveViews, actor)] : []),
      { key: 'event', component: 'event', name: 'Event', entity_category: 'diagnostic', enabledByDefault: true, events: CAMERA_EVENTS },
    ],
  };
  return table;
}

/** Live view in Home Assistant (a Generic Camera entry): ON while the camera has one. */
function liveViewRow(liveViews: LiveEntitySource, actor: Actor): EntityRow<CameraView> {
  return {
    key: 'live_view',
    component: 'switch',
    name: 'Live view in Home Assistant',
    entity_category: 'config',
    state: (c) => onOff(liveViews.read(c.id) !== undefined),
    command: async (c, payload) => {
      if (parseSwitch(payload, liveViews.read(c.id) !== undefined)) await liveViews.show(actor, c.id);
      else await liveViews.hide(actor, c.id);
    },
  };
}

/**
 * Every camera's motion sensor; the state comes from the capture's motion detector (`camera:motion`).
 * It exists from discovery on and is unavailable while detection is off (the Motion detection switch).
 */
function motionRow(streams: SnapshotSource): EntityRow<CameraView> {
  return {
    key: 'motion',
    component: 'binary_sensor',
    name: 'Motion',
    device_class: 'motion',
    followsDevice: true,
    availableWhenOn: MOTION_SWITCH_KEY,
    state: (c) => {
      // Detection off: unavailable in HA, and no stale "ON" left retained behind it.
      if (!c.motion) return 'OFF';
      const motion = streams.info(c.id).motion;
      return motion === null ? null : onOff(motion);
    },
  };
}

/** The key of the motion detection switch (the motion sensor's availability follows it). */
const MOTION_SWITCH_KEY = 'motion_detection';

/** Motion detection on/off and its sensitivity, through the camera service like any camera change. */
function motionSettingRows(cameras: CameraService, actor: Actor): EntityRow<CameraView>[] {
  return [
    {
      key: MOTION_SWITCH_KEY,
      component: 'switch',
      name: 'Motion detection',
      followsDevice: true,
      state: (c) => onOff(c.motion),
      command: async (c, payload) => {
        await cameras.update(actor, c.id, { motion: parseSwitch(payload, c.motion) });
      },
    },
    {
      key: 'motion_threshold',
      component: 'number',
      name: 'Motion threshold',
      icon: 'mdi:motion-sensor',
      entity_category: 'config',
      options: () => ({ min: 1, max: 255, step: 1, mode: 'box' }),
      state: (c) => String(c.motion_threshold),
      command: async (c, payload) => {
        await cameras.update(actor, c.id, { motion_threshold: parseInteger(payload, 1, 255) });
      },
    },
    {
      key: 'motion_min_area',
      component: 'number',
      name: 'Motion minimum area',
      icon: 'mdi:select-all',
      entity_category: 'config',
      unit_of_measurement: '%',
      options: () => ({ min: 0.1, max: 100, step: 0.1, mode: 'box' }),
      state: (c) => String(c.motion_min_area_percent),
      command: async (c, payload) => {
        await cameras.update(actor, c.id, { motion_min_area_percent: parseDecimal(payload, 0.1, 100) });
      },
    },
  ];
}

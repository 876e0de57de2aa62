// Cameras: one HA device each. Controls act through the camera service exactly like the sockets
// (a brightness set here is broadcast on /api/v1 and camera:* too); the stream switch holds a demand.
import { authorize } from '../../../auth/permissions.js';
import type { Actor } from '../../../auth/records.js';
import type { CameraView } from '../../../camera/cameraRecord.js';
import type { CameraService } from '../../../camera/cameraService.js';
import { CAPTURE_SETTINGS, IMAGE_SETTINGS, LIGHT, RANGE_KEYS, SWITCH_KEYS } from '../../../camera/controlCatalog.js';
import type { Reader } from '../../../camera/demand.js';
import { entitySlug } from '../../../core/ids.js';
import type { DeviceTable, EntityRow } from '../entities.js';
import { parseInteger, parseOnOff, parseOption, parsePress } from '../payloads.js';
import { deviceControlRows, imageControlAvailable } from './cameraControls.js';

/** The demand the stream switch holds while it is ON. */
export const MQTT_SWITCH_READER: Reader = { type: 'mqtt', id: 'switch' };

export const CAMERA_EVENTS = [
  'demand', 'unDemand', 'ready', 'notReady', 'read', 'unread', 'updated', 'snapshot', 'recording', 'connected', 'disconnected',
  'enabled', 'disabled',
] as const;

/** The latest JPEG per camera, where the streaming pipeline keeps one, and its motion state. */
export interface SnapshotSource {
  latestSnapshot(cameraId: string): { jpeg: Buffer } | undefined;
  /** null while motion detection has not run. */
  info(cameraId: string): { motion: boolean | null };
}

/** The Generic Camera entity Home Assistant made for a camera's live view, where there is one. */
export interface LiveEntitySource {
  liveEntity(cameraId: string): string | null;
}

export interface CameraTableOptions {
  snapshots?: SnapshotSource;
  liveViews?: LiveEntitySource;
  /** Put before every camera's entity ids, so a second instance's cameras get their own (e.g. "garage"). */
  entityIdPrefix?: string;
}


const onOff = (v: boolean) => (v ? 'ON' : 'OFF');
const holdsSwitchDemand = (c: CameraView) => c.reader_list.some((r) => r.type === MQTT_SWITCH_READER.type && r.id === MQTT_SWITCH_READER.id);

/** `actor`: who MQTT commands act as (mqtt.command_role), judged by the permission table. */
export function cameraTable(cameras: CameraService, actor: Actor, { snapshots, liveViews, entityIdPrefix }: CameraTableOptions = {}): DeviceTable<CameraView> {
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
      await cameras.setControls(actor, c.id, { [key]: parseInteger(payload, 0, 100) });
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
      await cameras.setControls(actor, c.id, { [key]: parseOnOff(payload) });
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
    // Topic keys in use: a row's key and its facets' `<key>_<facet>`; a device control never takes one.
    objectRows: (c) => deviceControlRows(cameras, actor, c, new Set(table.rows.flatMap((r) => [r.key, ...(r.facets ?? []).map((f) => `${r.key}_${f.name}`)]))),
    rows: [
      ...imageRow,
      { key: 'ready', component: 'binary_sensor', name: 'Stream ready', icon: 'mdi:video-check', state: (c) => onOff(c.ready) },
      ...(snapshots ? [motionRow(snapshots)] : []),
      {
        key: 'readers',
        component: 'sensor',
        name: 'Readers',
        icon: 'mdi:eye',
        state_class: 'measurement',
        state: (c) => String(c.readers),
        // Who is watching: what users open the entity for.
        attributes: (c) => ({ readers: c.reader_list.map((r) => `${r.type}:${r.id}`) }),
      },
      {
        key: 'stream',
        component: 'switch',
        name: 'Stream',
        icon: 'mdi:video',
        state: (c) => onOff(holdsSwitchDemand(c)),
        command: async (c, payload) => {
          authorize(actor, 'cameras.control');
          if (parseOnOff(payload)) cameras.addDemand(c.id, MQTT_SWITCH_READER);
          else cameras.removeDemand(c.id, MQTT_SWITCH_READER);
        },
      },
      {
        // Through the camera service like the Rotoclear `record` key: ON while recording or paused.
        key: 'recording',
        component: 'switch',
        name: 'Recording',
        icon: 'mdi:record-rec',
        followsDevice: true,
        state: (c) => onOff(c.record !== 'off'),
        command: async (c, payload) => {
          await cameras.setState(actor, c.id, { record: parseOnOff(payload) });
        },
      },
      {
        key: 'enabled',
        component: 'switch',
        name: 'Enabled',
        icon: 'mdi:power',
        entity_category: 'config',
        state: (c) => onOff(c.enabled),
        command: async (c, payload) => {
          await cameras.setEnabled(actor, c.id, parseOnOff(payload));
        },
      },
      {
        key: LIGHT.key,
        component: 'light',
        name: LIGHT.label,
        icon: LIGHT.icon,
        followsDevice: true,
        // A camera without a light control (and no HA light bound to it) has no light to switch.
        applies: (c) => c.has_light,
        state: (c) => onOff(c.light),
        command: async (c, payload) => {
          await cameras.setLight(actor, c.id, parseOnOff(payload));
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
          await cameras.setControls(actor, c.id, { resolution: parseOption(payload, c.resolutions) });
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
          await cameras.setControls(actor, c.id, { fps: Number(parseOption(payload, c.fps_options.map(String))) });
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
          await cameras.setState(actor, c.id, { snap: true });
        },
      },
      { key: 'event', component: 'event', name: 'Event', events: CAMERA_EVENTS },
    ],
  };
  return table;
}

/** Cameras with `motion: true`; the state comes from the capture's motion detector (`camera:motion`). */
function motionRow(streams: SnapshotSource): EntityRow<CameraView> {
  return {
    key: 'motion',
    component: 'binary_sensor',
    name: 'Motion',
    device_class: 'motion',
    followsDevice: true,
    applies: (c) => c.motion,
    state: (c) => {
      const motion = streams.info(c.id).motion;
      return motion === null ? null : onOff(motion);
    },
  };
}

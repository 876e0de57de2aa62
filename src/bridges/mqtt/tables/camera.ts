// Cameras: one HA device each. Controls act through the camera service exactly like the sockets
// (a brightness set here is broadcast on /api/v1 and camera:* too); the stream switch holds a demand.
import { authorize } from '../../../auth/permissions.js';
import type { Actor } from '../../../auth/records.js';
import type { CameraView } from '../../../camera/cameraRecord.js';
import type { CameraService } from '../../../camera/cameraService.js';
import type { RangeKey } from '../../../camera/controlMapping.js';
import type { Reader } from '../../../camera/demand.js';
import type { DeviceTable, EntityRow } from '../entities.js';
import { parseInteger, parseOnOff, parseOption, parsePress } from '../payloads.js';

/** The demand the stream switch holds while it is ON. */
export const MQTT_SWITCH_READER: Reader = { type: 'mqtt', id: 'switch' };

export const CAMERA_EVENTS = [
  'demand', 'unDemand', 'ready', 'notReady', 'read', 'unread', 'updated', 'snapshot', 'recording', 'connected', 'disconnected', 'extended', 'failed-extension',
] as const;

/** The latest JPEG per camera, where the streaming pipeline keeps one. */
export interface SnapshotSource {
  latestSnapshot(cameraId: string): { jpeg: Buffer } | undefined;
}

const IMAGE_NUMBERS: { key: RangeKey; name: string; icon: string }[] = [
  { key: 'brightness', name: 'Brightness', icon: 'mdi:brightness-6' },
  { key: 'contrast', name: 'Contrast', icon: 'mdi:contrast-box' },
  { key: 'saturation', name: 'Saturation', icon: 'mdi:palette' },
  { key: 'sharpness', name: 'Sharpness', icon: 'mdi:image-filter-center-focus' },
  { key: 'gain', name: 'Gain', icon: 'mdi:tune-vertical' },
];

const onOff = (v: boolean) => (v ? 'ON' : 'OFF');
const holdsSwitchDemand = (c: CameraView) => c.reader_list.some((r) => r.type === MQTT_SWITCH_READER.type && r.id === MQTT_SWITCH_READER.id);

/** `actor`: who MQTT commands act as (mqtt.command_role), judged by the permission table. */
export function cameraTable(cameras: CameraService, actor: Actor, snapshots?: SnapshotSource): DeviceTable<CameraView> {
  const numberRows: EntityRow<CameraView>[] = IMAGE_NUMBERS.map(({ key, name, icon }) => ({
    key,
    component: 'number',
    name,
    icon,
    entity_category: 'config',
    followsDevice: true,
    options: () => ({ min: 0, max: 100, step: 1, mode: 'slider' }),
    applies: (c) => c.controls[key] !== null,
    state: (c) => (c.controls[key] === null ? null : String(c.controls[key])),
    command: async (c, payload) => {
      await cameras.setControls(actor, c.id, { [key]: parseInteger(payload, 0, 100) });
    },
  }));
  const imageRow: EntityRow<CameraView>[] = snapshots
    ? [{ key: 'image', component: 'camera', name: null, image: (c) => snapshots.latestSnapshot(c.id)?.jpeg }]
    : [];
  return {
    kind: 'camera',
    domains: ['camera'],
    list: () => cameras.all(),
    id: (c) => c.id,
    device: (c) => ({ name: c.name, model: c.driver === 'v4l2' ? `V4L2 camera (${c.device})` : 'Simulated camera' }),
    available: (c) => c.exists,
    rows: [
      ...imageRow,
      { key: 'ready', component: 'binary_sensor', name: 'Stream ready', icon: 'mdi:video-check', state: (c) => onOff(c.ready) },
      { key: 'readers', component: 'sensor', name: 'Readers', icon: 'mdi:eye', state_class: 'measurement', state: (c) => String(c.readers) },
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
        key: 'light',
        component: 'switch',
        name: 'Light',
        icon: 'mdi:lightbulb',
        followsDevice: true,
        state: (c) => onOff(c.light),
        command: async (c, payload) => {
          await cameras.setLight(actor, c.id, parseOnOff(payload));
        },
      },
      ...numberRows,
      {
        key: 'resolution',
        component: 'select',
        name: 'Resolution',
        icon: 'mdi:image-size-select-large',
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
        name: 'Frame rate',
        icon: 'mdi:filmstrip',
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
}

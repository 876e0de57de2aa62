// The Rotoclear /api/v1 key table (docs/protocols/rotoclear.md, "Keys"): how each
// key reads from and writes to the camera service, or to this adapter's own view (main camera, pip).
// Validation and permissions stay there; this table only says which camera a key addresses and
// whether it may be read without signing in.
import type { Actor } from '../../auth/records.js';
import type { CameraView, Slot } from '../../camera/cameraRecord.js';
import { IMAGE_SETTINGS, RANGE_KEYS, SWITCH_KEYS, type ImageKey } from '../../camera/controlCatalog.js';
import { unavailable } from '../../core/errors.js';
import type { RotoclearView, ViewState } from './viewState.js';

/** What keys read from: the two slot cameras, the main one and the view state, looked up once per read. */
export interface StateSource {
  slot(n: Slot): CameraView | undefined;
  main(): CameraView | undefined;
  view: ViewState;
}

export function stateSource(rv: RotoclearView): StateSource {
  const memo = new Map<Slot, CameraView | undefined>();
  const view = rv.state();
  const slot = (n: Slot) => {
    if (!memo.has(n)) memo.set(n, rv.cameras.bySlot(n));
    return memo.get(n);
  };
  return { slot, main: () => slot(view['main-camera']), view };
}

export interface KeyDef {
  key: string;
  /** As the document types it. */
  type: 'boolean' | 'integer' | 'string' | 'string/boolean';
  /** Readable by anonymous connections. */
  public: boolean;
  /** Current value; write-only triggers (snap) read as false. */
  read(s: StateSource): unknown;
  /** Absent for read-only keys. */
  write?(rv: RotoclearView, actor: Actor, value: unknown): Promise<unknown>;
}

const slotCamera = (rv: RotoclearView, slot: Slot): CameraView => {
  const cam = rv.cameras.bySlot(slot);
  if (!cam) throw unavailable(`There is no camera ${slot}`);
  return cam;
};

const mainCamera = (rv: RotoclearView): CameraView => slotCamera(rv, rv.state()['main-camera']);

const lightKey = (slot: Slot): KeyDef => ({
  key: `cam${slot}-light`,
  type: 'boolean',
  public: true,
  read: (s) => s.slot(slot)?.light ?? false,
  write: (r, a, v) => r.cameras.update(a, slotCamera(r, slot).id, { light: v }),
});

const existsKey = (slot: Slot): KeyDef => ({ key: `cam${slot}-exists`, type: 'boolean', public: true, read: (s) => s.slot(slot)?.exists ?? false });

const sensorKey = (slot: Slot): KeyDef => ({
  key: `cam${slot}-sensor`,
  type: 'integer',
  public: false,
  read: (s) => s.slot(slot)?.controls.sensor ?? null,
  write: (r, a, v) => r.cameras.update(a, slotCamera(r, slot).id, { controls: { sensor: v } }),
});

/** A control of the main camera, changed through the camera service's one change path. */
const mainControl = (key: ImageKey | 'resolution' | 'fps', type: KeyDef['type'], isPublic: boolean): KeyDef => ({
  key,
  type,
  public: isPublic,
  read: (s) => s.main()?.controls[key] ?? null,
  write: (r, a, v) => r.cameras.update(a, mainCamera(r).id, { controls: { [key]: v } }),
});

/** In the document's order. */
export const KEY_TABLE: readonly KeyDef[] = [
  lightKey(1),
  lightKey(2),
  existsKey(1),
  existsKey(2),
  {
    key: 'main-camera',
    type: 'integer',
    public: true,
    read: (s) => s.view['main-camera'],
    write: (r, a, v) => r.setMainCamera(a, v),
  },
  sensorKey(1),
  sensorKey(2),
  mainControl('resolution', 'string', true),
  mainControl('fps', 'integer', true),
  {
    key: 'pip-mode',
    type: 'string',
    public: true,
    read: (s) => s.view['pip-mode'],
    write: (r, a, v) => r.setPipMode(a, v),
  },
  // The document's image keys, from the catalog: not every image setting (it has no hue).
  ...[...RANGE_KEYS, ...SWITCH_KEYS].flatMap((k) => {
    const type = IMAGE_SETTINGS[k].rotoclear;
    return type ? [mainControl(k, type, false)] : [];
  }),
  {
    key: 'record',
    type: 'string/boolean',
    public: true,
    read: (s) => s.main()?.record ?? 'off',
    write: (r, a, v) => r.cameras.update(a, mainCamera(r).id, { record: v }),
  },
  {
    key: 'snap',
    type: 'boolean',
    public: false,
    read: () => false,
    write: (r, a, v) => r.cameras.update(a, mainCamera(r).id, { snap: v }),
  },
  {
    key: 'jpeg-quality',
    type: 'integer',
    public: false,
    read: (s) => s.main()?.jpeg_quality ?? null,
    write: (r, a, v) => r.cameras.update(a, mainCamera(r).id, { 'jpeg-quality': v }),
  },
];

export const KEYS: ReadonlyMap<string, KeyDef> = new Map(KEY_TABLE.map((k) => [k.key, k]));

/** Every readable key's current value; anonymous audiences get the public keys only. */
export function readState(rv: RotoclearView, signedIn: boolean): Record<string, unknown> {
  const source = stateSource(rv);
  const out: Record<string, unknown> = {};
  for (const def of KEY_TABLE) if (signedIn || def.public) out[def.key] = def.read(source);
  return out;
}

// Cameras page: lists the cameras as cards (./cameras/cameraCard.ts) and keeps them current. Changes
// from anyone arrive as `camera:*` status topics and as Rotoclear `/api/v1` broadcasts (main camera,
// its controls, both slots' lights) and are routed here to the card they concern.
import type { Backend } from '../backend.js';
import type { CameraView } from '../../../src/camera/cameraRecord.js';
import { RANGE_KEYS, SWITCH_KEYS } from '../../../src/camera/controlCatalog.js';
import { h } from '../dom.js';
import { describe } from '../errors.js';
import type { Page } from '../page.js';
import { CameraCard } from './cameras/cameraCard.js';

/**
 * The camera behind a Rotoclear slot, by the camera service's rule: the one assigned to it, else the
 * unassigned cameras (connected first, in list order) fill the free slots in order.
 */
function slotCamera(cams: CameraView[], slot: 1 | 2): CameraView | undefined {
  const assigned = cams.find((c) => c.slot === slot);
  if (assigned) return assigned;
  const freeSlots = ([1, 2] as const).filter((s) => !cams.some((c) => c.slot === s));
  const free = cams.filter((c) => c.slot === null).sort((a, b) => Number(b.exists) - Number(a.exists));
  return free[freeSlots.indexOf(slot)];
}

export function createCamerasPage(backend: Backend): Page {
  const list = h('div', { class: 'grid' });
  const notice = h('p', { class: 'notice', role: 'status' });
  const el = h('section', { class: 'page', 'aria-label': 'Cameras' }, h('h1', {}, 'Cameras'), notice, list);
  const cards = new Map<string, CameraCard>();
  const rereads = new Map<string, number>();
  let visible = false;
  let mainSlot: number | null = null;

  const markMain = () => {
    const views = [...cards.values()].map((c) => c.view);
    const bySlot = new Map<string, 1 | 2>();
    for (const s of [1, 2] as const) {
      const cam = slotCamera(views, s);
      if (cam) bySlot.set(cam.id, s);
    }
    for (const c of cards.values()) {
      c.slot = bySlot.get(c.id) ?? null;
      c.isMain = mainSlot !== null && c.slot === mainSlot;
    }
  };

  const load = async () => {
    try {
      const cams = await backend.listAll<CameraView>('cameras');
      notice.textContent = cams.length ? '' : 'No cameras yet. Connect a V4L2 camera, or enable the simulated camera in the add-on options.';
      notice.classList.remove('error');
      const seen = new Set(cams.map((c) => c.id));
      for (const [id, card] of cards) {
        if (seen.has(id)) continue;
        card.stopLive();
        card.el.remove();
        cards.delete(id);
      }
      const fresh: CameraCard[] = [];
      for (const cam of cams) {
        const card = cards.get(cam.id);
        if (card) card.update(cam);
        else {
          const c = new CameraCard(backend, cam);
          cards.set(cam.id, c);
          list.append(c.el);
          fresh.push(c);
        }
      }
      markMain();
      for (const c of cards.values()) c.update(c.view);
      for (const c of fresh) c.setVisible(visible);
    } catch (err) {
      notice.textContent = `Cameras are not available: ${describe(err)}`;
      notice.classList.add('error');
    }
  };

  /** Demand, readers and readiness change often: coalesce them into one read per camera. */
  const reread = (id: string) => {
    if (rereads.has(id)) return;
    rereads.set(
      id,
      window.setTimeout(() => {
        rereads.delete(id);
        const card = cards.get(id);
        if (!card) return;
        backend.request<CameraView>('cameras', 'read', id).then((cam) => card.update(cam), () => undefined);
      }, 200),
    );
  };

  backend.onStatus('camera', (e) => {
    if (e.event === 'created' || e.event === 'deleted' || !e.entity || !cards.has(e.entity)) return void load();
    if (e.event === 'updated') cards.get(e.entity)?.patch(e.details.changes);
    if (e.event === 'liveView') cards.get(e.entity)?.setLiveView(e.details.entry_id !== null);
    reread(e.entity);
  });

  // Rotoclear broadcasts: the main camera's controls and both slots' lights, from any client.
  backend.state.onChange((changed) => {
    if ('main-camera' in changed) {
      mainSlot = typeof changed['main-camera'] === 'number' ? changed['main-camera'] : null;
      markMain();
      for (const c of cards.values()) c.update(c.view);
      for (const c of cards.values()) reread(c.id);
    }
    const main = [...cards.values()].find((c) => c.isMain);
    const forMain: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(changed)) {
      const light = /^cam([12])-light$/.exec(k);
      if (light) [...cards.values()].find((c) => c.slot === Number(light[1]))?.patch({ light: v });
      else if ((RANGE_KEYS as readonly string[]).includes(k) || (SWITCH_KEYS as readonly string[]).includes(k) || ['resolution', 'fps', 'record'].includes(k)) forMain[k] = v;
    }
    if (main && Object.keys(forMain).length) main.patch(forMain);
  });
  backend.state.onError((message) => {
    const main = [...cards.values()].find((c) => c.isMain);
    main?.say(message, true);
  });

  backend.socket.on('connect', () => void load());

  return {
    id: 'cameras',
    title: 'Cameras',
    el,
    show() {
      visible = true;
      for (const c of cards.values()) c.setVisible(true);
      void load();
    },
    hide() {
      visible = false;
      for (const c of cards.values()) c.setVisible(false);
    },
  };
}

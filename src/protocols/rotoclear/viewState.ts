// The Rotoclear view: which slot's camera is the main one (the image keys act on it) and the
// picture-in-picture mode. Only Rotoclear clients have these, so they live in this adapter, in
// memory (a restart starts at camera 1, pip off); the cameras themselves stay in the camera service.
import { z } from 'zod';
import { authorize } from '../../auth/permissions.js';
import type { Actor } from '../../auth/records.js';
import type { Slot } from '../../camera/cameraRecord.js';
import type { CameraService } from '../../camera/cameraService.js';
import { validationError } from '../../core/errors.js';
import { parseInput } from '../../core/validation.js';

export interface ViewState {
  'main-camera': Slot;
  'pip-mode': string;
}

const mainCameraValue = z.union([z.literal(1), z.literal(2)], { errorMap: () => ({ message: 'Value must be 1 or 2' }) });
const pipModeValue = z
  .string({ invalid_type_error: 'Value must be a mode name' })
  .regex(/^[A-Za-z0-9_-]{1,32}$/, 'Value must be a mode name (letters, digits, - or _, up to 32 characters)');

export class RotoclearView {
  private view: ViewState = { 'main-camera': 1, 'pip-mode': 'off' };

  /** `changed` runs after a change that altered the view, so the server sends it to its clients. */
  constructor(
    readonly cameras: CameraService,
    private readonly changed: () => void,
  ) {}

  state(): ViewState {
    return { ...this.view };
  }

  /** Which slot's camera the Rotoclear image settings act on. */
  async setMainCamera(actor: Actor, slot: unknown): Promise<ViewState> {
    requireUser(actor);
    const value = parseInput(mainCameraValue, slot, 'main-camera', 'Invalid main camera');
    if (!this.cameras.bySlot(value)) throw validationError('Invalid main camera', [{ path: 'main-camera', message: `There is no camera ${value}` }]);
    return this.set({ 'main-camera': value });
  }

  /** Picture-in-picture mode, kept as state (no compositor renders it yet). */
  async setPipMode(actor: Actor, mode: unknown): Promise<ViewState> {
    requireUser(actor);
    const value = parseInput(pipModeValue, mode, 'pip-mode', 'Invalid picture-in-picture mode');
    return this.set({ 'pip-mode': value });
  }

  private set(change: Partial<ViewState>): ViewState {
    const altered = Object.entries(change).some(([k, v]) => this.view[k as keyof ViewState] !== v);
    this.view = { ...this.view, ...change };
    if (altered) this.changed();
    return this.state();
  }
}

/** The same permission as changing a camera: the view decides what the camera keys act on. */
function requireUser(actor: Actor): void {
  authorize(actor, 'cameras.control', 'Changing cameras needs the user role');
}

// The one permission table: which role may do which action. Services ask it; adapters and bridges
// never compare roles themselves. DOCS.md "Security" shows the same table for users, each row naming
// its permissions (test/unit/permissionsDocs.test.ts holds the two together).
//
// How a new route asks (e.g. an HTTP handler, src/protocols/http/httpApi.ts):
//   router.post(path, requireActor(sessions, 'cameras.control'), handler)   // 401 / 403 before the handler
// or, in code that has an actor: authorize(actor, 'cameras.control') throws the forbidden AppError
// (403 / the protocol's shape).
// Better still, put the authorize() call in the service method the route calls, so every protocol
// gets the same rule. A long-lived response (a stream) also opens a session with
// `sessions.open(...)` so it ends when its token is revoked or expires, or its user is deleted.
// Ownership rules ("own labs", "own user") stay in their service next to the data they need.
import { forbidden } from '../core/errors.js';
import type { Actor, Role } from './records.js';

export const PERMISSIONS = {
  'cameras.read': 'viewer',
  /** Camera settings, light, demand, snapshot, recording, and switching a camera on or off (a privacy switch). */
  'cameras.control': 'user',
  /** Add and remove cameras. */
  'cameras.manage': 'admin',
  /**
   * Show a camera live in Home Assistant and remove it again (its Generic Camera entry). The entry's
   * signed URL goes only to Home Assistant, and shows what the camera's HA entity already shows, so
   * whoever controls cameras (the MQTT switch and the card included) may do it.
   */
  'cameras.liveView': 'user',
  /** MJPEG and live streams, snapshots and signed URLs for them. */
  'streams.view': 'viewer',
  /** Long-lived live-view URLs for Home Assistant, and revoking them all. */
  'streams.liveUrls': 'admin',
  'monitors.read': 'viewer',
  'monitors.command': 'user',
  'monitors.manage': 'admin',
  'credentials.read': 'viewer',
  'credentials.manage': 'admin',
  /** Create labs and control the labs one owns. */
  'labs.own': 'user',
  /** See, change and command every lab, and give labs to other users. */
  'labs.manageAll': 'admin',
  /** Create, change or deploy labs with `exec` nodes (they run programs as the add-on's user). */
  'labs.exec': 'admin',
  'users.manage': 'admin',
  /** Every status message, not only one's own and the public ones. */
  'statusMessages.readAll': 'admin',
  /** Server log lines (NestMTX `log` event and its replay). */
  'logs.read': 'admin',
  /** The embedded MQTT broker's credentials (shown in the panel). */
  'mqtt.credentials': 'admin',
} as const satisfies Record<string, Role>;

export type Action = keyof typeof PERMISSIONS;

const RANK: Record<Role, number> = { viewer: 0, user: 1, admin: 2 };

/** May this role do this action? */
export const can = (role: Role, action: Action): boolean => RANK[role] >= RANK[PERMISSIONS[action]];

/** Throws the forbidden AppError unless the actor's role may do the action. */
export function authorize(actor: Actor, action: Action, message?: string): void {
  if (!can(actor.role, action)) throw forbidden(message ?? `Not allowed: ${action} needs the ${PERMISSIONS[action]} role`);
}


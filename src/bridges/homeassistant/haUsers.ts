// Home Assistant's user list over its websocket (`config/auth/list`, admin-only in HA: the
// Supervisor's own user is an administrator; a standalone long-lived token must belong to one).
// Only the fields the role rule needs are kept; anything else in HA's answer is ignored.
import type { HaUserInfo } from '../../auth/haRoles.js';
import { unavailable } from '../../core/errors.js';

const ASK_TIMEOUT_MS = 5_000;

type Command = <T>(message: { type: string; [key: string]: unknown }) => Promise<T>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseUser(v: unknown): HaUserInfo | null {
  if (!isObject(v) || typeof v.id !== 'string') return null;
  return {
    id: v.id,
    name: typeof v.name === 'string' ? v.name : null,
    username: typeof v.username === 'string' ? v.username : null,
    is_owner: v.is_owner === true,
    // Older answers without is_active: the user exists, so count it as active.
    is_active: v.is_active !== false,
    system_generated: v.system_generated === true,
    group_ids: Array.isArray(v.group_ids) ? v.group_ids.filter((g): g is string => typeof g === 'string') : [],
  };
}

/** A directory function for HaRoles: HA's users, or an error saying why HA could not be asked. */
export function haUserDirectory(command: Command): () => Promise<HaUserInfo[]> {
  return async () => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(unavailable('Home Assistant did not answer config/auth/list in time')), ASK_TIMEOUT_MS);
    });
    try {
      const reply = await Promise.race([command<unknown>({ type: 'config/auth/list' }), timeout]).catch((err: unknown) => {
        // home-assistant-js-websocket rejects with HA's {code, message}.
        if (isObject(err) && typeof err.message === 'string') throw unavailable(`Home Assistant refused config/auth/list: ${err.message}${typeof err.code === 'string' ? ` (${err.code})` : ''}`);
        throw err;
      });
      if (!Array.isArray(reply)) throw unavailable('Home Assistant answered config/auth/list with something other than a list');
      return reply.map(parseUser).filter((u): u is HaUserInfo => u !== null);
    } finally {
      clearTimeout(timer);
    }
  };
}

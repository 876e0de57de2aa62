// Who Home Assistant calls an administrator, and how its user list answer is read (the role rule
// itself runs end to end against the HA peer in test/integration/haAdminRoles.test.ts).
import { describe, expect, it } from 'vitest';
import { isHaAdmin, type HaUserInfo } from '../../src/auth/haRoles.js';
import { haUserDirectory } from '../../src/bridges/homeassistant/haUsers.js';
import { AppError } from '../../src/core/errors.js';
import { peerUser } from '../helpers/haPeer.js';

const info = (over: Partial<HaUserInfo>): HaUserInfo => ({ id: 'u', name: 'U', username: 'u', is_owner: false, is_active: true, system_generated: false, group_ids: ['system-users'], ...over });

describe('Home Assistant administrators', () => {
  it('are the owner and members of system-admin, while active', () => {
    expect(isHaAdmin(info({ is_owner: true, group_ids: [] }))).toBe(true);
    expect(isHaAdmin(info({ group_ids: ['system-admin'] }))).toBe(true);
    expect(isHaAdmin(info({ group_ids: ['system-users'] }))).toBe(false);
    expect(isHaAdmin(info({ group_ids: ['system-read-only'] }))).toBe(false);
    expect(isHaAdmin(info({ group_ids: ['system-admin'], is_active: false }))).toBe(false);
  });

  it('reads config/auth/list as HA answers it and skips entries without an id', async () => {
    const answer = [peerUser('a1', 'Ann', { admin: true }), { name: 'no id' }, 'junk', { id: 'b2', group_ids: ['system-users', 7] }];
    const sent: unknown[] = [];
    const users = await haUserDirectory(async <T>(m: { type: string }) => {
      sent.push(m);
      return answer as T;
    })();
    expect(sent).toEqual([{ type: 'config/auth/list' }]);
    expect(users).toEqual([
      { id: 'a1', name: 'Ann', username: 'ann', is_owner: false, is_active: true, system_generated: false, group_ids: ['system-admin'] },
      { id: 'b2', name: null, username: null, is_owner: false, is_active: true, system_generated: false, group_ids: ['system-users'] },
    ]);
  });

  it('says why when HA refuses (a token of a user who is not an administrator) or answers something else', async () => {
    const refused = await haUserDirectory(async () => Promise.reject({ code: 'unauthorized', message: 'Unauthorized' }))().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).message).toBe('Home Assistant refused config/auth/list: Unauthorized (unauthorized)');
    const odd = await haUserDirectory(async <T>() => ({ users: [] }) as T)().catch((e: unknown) => e);
    expect((odd as AppError).message).toBe('Home Assistant answered config/auth/list with something other than a list');
  });
});

// Usernames are unique without regard to case ("Alice" and "alice" are one account): every lookup,
// uniqueness check and per-user counter goes through these two, so they cannot disagree.
import type { Collection } from '../store/database.js';
import type { UserRecord } from './records.js';

/** The form two usernames are compared in. */
export const usernameKey = (name: string): string => name.toLowerCase();

/** The user with this username, in any case. */
export function findByUsername(users: Collection<UserRecord>, name: string): UserRecord | undefined {
  const key = usernameKey(name);
  return users.find((u) => usernameKey(u.username) === key);
}

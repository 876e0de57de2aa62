// The live_views collection: one Generic Camera config entry in Home Assistant per camera.

export interface LiveViewRecord {
  /** The camera id. */
  id: string;
  /** The Generic Camera config entry in HA. */
  entry_id: string;
  /** The camera entity HA created for it; null until the entity registry was read. */
  entity_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface LiveViewCamera {
  id: string;
  name: string;
  enabled: boolean;
}

/**
 * Where live-view entries are kept (Home Assistant's config entries, behind a bridge). The service
 * decides when; this only does.
 */
export interface LiveViewEntries {
  /** Creates the entry for the camera; answers its entry id. */
  create(camera: LiveViewCamera): Promise<string>;
  /** Writes fresh URLs into an existing entry; false when the entry no longer exists there. */
  resign(entryId: string, camera: LiveViewCamera): Promise<boolean>;
  /** Removes the entry (an entry already gone counts as removed); throws when it could not. */
  remove(entryId: string): Promise<void>;
  /** The camera entity made for the entry, or null while it cannot be read yet. */
  findEntity(entryId: string, camera: LiveViewCamera): Promise<string | null>;
}

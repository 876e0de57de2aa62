// Every domain event and the shape of its details: the contract between the services that publish
// on the bus and the adapters and bridges that translate events to their wire. Adding an event is
// one line here; the compiler then checks every publisher and subscriber against it.
// Core sits below every other layer, so the few domain types an event carries are declared here.

/** Who may see a status message: everyone signed in, admins only, or one user (and the admins). */
export type Audience = { kind: 'all' } | { kind: 'admins' } | { kind: 'user'; userId: string };

/** A user-visible status message (Antimony `/status-messages`). */
export interface StatusMessage {
  id: string;
  /** RFC 3339. */
  timestamp: string;
  source: string;
  content: string;
  /** More detail, for logging. */
  logContent: string;
  /** 0 Success, 1 Info, 2 Warning, 3 Error, 4 Fatal. */
  severity: 0 | 1 | 2 | 3 | 4;
}

/** How a camera's capture makes each output (as streaming/ffmpegArgs.ts decides it). */
export type CapturePathDetails = { input: string; mjpeg: 'copy' | 'encode'; h264: string | null; motion: boolean };

/** What changed on an object, by field (`{brightness: 60}`, `{exists: false}`, `{snap: true}`). */
export type Changes = { changes: Record<string, unknown> };
/** A stream reader, as demand events name it. */
type ReaderRef = { readerType: string; readerId: string };

export type DomainEventDetails = {
  camera: {
    demand: ReaderRef;
    unDemand: ReaderRef;
    read: ReaderRef & { readers: number };
    unread: ReaderRef & { readers: number };
    /** The capture runs; `path` says how each output is made (passthrough, encoder). */
    ready: { path: CapturePathDetails };
    notReady: { reason: string };
    created: { name: string; driver: string; device: string | null };
    updated: Changes;
    deleted: { name: string; driver: string; device: string | null };
    snapshot: { bytes: number; width: number | null; height: number | null };
    /** A snapshot asked for (the Take snapshot button, Rotoclear `snap`) was saved as a JPEG file: `path` is its absolute path. */
    snapshotSaved: { path: string; bytes: number; width: number | null; height: number | null };
    /** The camera image was refreshed from the running capture (the live or idle refresh). */
    image: { bytes: number; width: number | null; height: number | null };
    /**
     * Recording started or stopped (`trigger`, `dir`); stopped by itself (`reason`, `error`); or a
     * motion clip began or ended (`clip`).
     */
    recording: {
      state: 'on' | 'off' | 'pause';
      trigger?: 'manual' | 'continuous' | 'motion';
      dir?: string;
      reason?: 'max_size' | 'min_free' | 'ffmpeg' | 'storage';
      error?: string;
      clip?: 'started' | 'ended';
    };
    /** The camera was switched on or off (its `enabled` setting); `by` is who did it. */
    enabled: { name: string; enabled: true; by: string };
    disabled: { name: string; enabled: false; by: string };
    /** The camera's live view in Home Assistant was added or removed (both null when removed). */
    liveView: { entity_id: string | null; entry_id: string | null };
    /** Motion seen (true) or over (false) on a camera with motion detection. */
    motion: { motion: boolean };
    connected: { device: string | null; driver: string };
    disconnected: { device: string | null; reason: string };
    /**
     * A command for the camera was refused (e.g. an MQTT payload out of range): `command` names the
     * entity or control, `reason` says why, `count` how many were refused since the last report
     * (reports are rate-limited, so a flood costs one event a minute).
     */
    commandRefused: { command: string; reason: string; origin: string; count: number };
  };
  credentials: {
    authenticated: { expires_at: string | null };
    reauthenticated: { expires_at: string | null };
    unauthenticated: { description: string; error: string };
    created: { description: string; provider: string };
    updated: { fields: string[]; deauthorized?: boolean };
    deleted: { description: string };
  };
  monitor: {
    online: { monitor_id: string };
    offline: { monitor_id: string; name: string; reason: string };
    command: { monitor_id: string; command: string; by: string | null };
    commandDone: { monitor_id: string; command: string; by: string | null };
    commandFailed: { monitor_id: string; command: string; by: string | null; reason: string };
    created: { monitor_id: string; auto_registered: boolean };
    updated: { monitor_id: string; fields: string[] };
    deleted: { monitor_id: string };
  };
  lab: {
    created: { owner: string; name: string };
    /** One lab (`owner` set) or, after a restart's recovery of several, `labIds`. */
    updated: { owner?: string | null; previousOwner?: string; changes?: Record<string, unknown>; labIds?: string[] };
    deleted: { owner: string };
    state: { owner: string; state: number; nodes: { name: string; state: number }[] };
    nodeState: { owner: string; node: string; state: number };
    /** One line of a lab's log (node null) or of one of its nodes: output, not state (see isOutputEvent). */
    log: { owner: string; node: string | null; line: string };
  };
  statusMessage: {
    published: { message: StatusMessage; audience: Audience };
  };
  user: {
    created: { username: string; role: string; ha_user_id?: string };
    updated: { fields: string[] };
    deleted: { username: string };
  };
  /** Tokens revoked: socket adapters drop the connections that used them. */
  auth: {
    tokensRevoked: { tokenIds: string[] };
    /** Every live-view URL handed out so far stopped working (a new signing key). */
    liveUrlsRevoked: Record<string, never>;
  };
  /** The add-on's own parts (mqtt, homeassistant, sockets). */
  system: {
    component: { state: string; detail?: string; since: string };
    clients: { protocol: string; count: number };
    /** A store (the data folder or the media folder) became unwritable (`ok: false`) or writable again. */
    storage: { store: string; ok: boolean; code?: string; error?: string };
  };
};

type PublicEventList = { [D in keyof DomainEventDetails]?: readonly Extract<keyof DomainEventDetails[D], string>[] };

/**
 * The events that are news and leave the process: fired on Home Assistant's bus
 * (`switchboard_event`), on the MQTT camera Event entity and mirrored to `<base>/events/...`.
 * Everything else is state (published as MQTT entity states) or telemetry (the camera image, each
 * reader's read/unread/demand) and stays inside; the socket APIs keep what their documents define.
 */
export const PUBLIC_EVENTS = {
  camera: ['motion', 'recording', 'snapshotSaved', 'connected', 'disconnected', 'enabled', 'disabled', 'commandRefused'],
  credentials: ['unauthenticated'],
  // A command's result is news to whoever sent it (one per command a person sends).
  monitor: ['online', 'offline', 'commandDone', 'commandFailed'],
  lab: ['state'],
} as const satisfies PublicEventList;

const PUBLIC_LOOKUP = new Map<string, ReadonlySet<string>>(Object.entries(PUBLIC_EVENTS).map(([d, events]) => [d, new Set<string>(events)]));

/** Whether an event is news that leaves the process (see PUBLIC_EVENTS). */
export const isPublicEvent = (e: { domain: string; event: string }): boolean => PUBLIC_LOOKUP.get(e.domain)?.has(e.event) === true;

/** The domains with public events (what the bridges subscribe to). */
export const PUBLIC_DOMAINS = Object.keys(PUBLIC_EVENTS) as (keyof typeof PUBLIC_EVENTS)[];

/**
 * Events that carry output rather than state (lab log lines: many, and of interest only to their
 * readers). The bridges to Home Assistant and MQTT mirror state, so they skip these.
 */
export const isOutputEvent = (e: { domain: string; event: string }): boolean => e.domain === 'lab' && e.event === 'log';

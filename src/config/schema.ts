// The one config schema. Every key has a default here; config.yaml's options/schema and the
// translations are checked against this file by test/unit/addonConfig.test.ts.
import { z } from 'zod';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

const portOrZero = z.number().int().min(0).max(65535); // 0 = pick a free port (tests)

export const mqttSchema = z
  .object({
    /** `auto` (Supervisor service), `embedded` (in-process aedes), `disabled`, or an mqtt(s):// URL. */
    url: z
      .string()
      .refine(
        (v) => ['auto', 'embedded', 'disabled'].includes(v) || /^mqtts?:\/\/[^\s]+$/.test(v),
        'must be "auto", "embedded", "disabled" or an mqtt:// / mqtts:// URL',
      )
      .default('embedded'),
    username: z.string().optional(),
    password: z.string().optional(),
    /** PEM file with the CA for mqtts:// brokers with a private CA. */
    ca_file: z.string().optional(),
    reject_unauthorized: z.boolean().default(true),
    client_id: z.string().min(1).max(64).optional(),
    embedded_host: z.string().default('127.0.0.1'),
    embedded_port: portOrZero.default(1883),
    discovery_prefix: z
      .string()
      .regex(/^[A-Za-z0-9_\-/]+$/, 'may contain letters, digits, _ - /')
      .default('homeassistant'),
    base_topic: z
      .string()
      .regex(/^[A-Za-z0-9_\-/]+$/, 'may contain letters, digits, _ - /')
      .default('switchboard'),
    /** Home Assistant's birth message topic: "online" there makes the bridge republish discovery. */
    ha_status_topic: z
      .string()
      .regex(/^[A-Za-z0-9_\-/]+$/, 'may contain letters, digits, _ - /')
      .default('homeassistant/status'),
    /** The role MQTT commands act as (through the permission table); never admin: the broker is shared. */
    command_role: z.enum(['user', 'viewer']).default('user'),
  })
  .strict();

export const homeassistantSchema = z
  .object({
    /** Standalone: HA base URL, e.g. http://homeassistant.local:8123. In the add-on the Supervisor proxy is used. */
    url: z.string().url().optional(),
    /** Standalone: a long-lived access token. */
    token: z.string().optional(),
    enabled: z.boolean().default(true),
    notifications: z.boolean().default(true),
    /** Install the Switchboard camera card (file in www/switchboard/ plus a dashboard resource). */
    card: z.boolean().default(true),
    /** Home Assistant's config folder as mounted in the add-on (map homeassistant_config). */
    config_dir: z.string().default('/homeassistant'),
    /**
     * `auto`: every enabled camera gets a Generic Camera entry in HA for live video; `off` (default:
     * no integration appears in HA unasked): only on request, the panel's "Show in Home Assistant".
     */
    live_view: z.enum(['auto', 'off']).default('off'),
  })
  .strict();

/**
 * The HA camera picture's refresh while nobody streams: a brief capture each time (about a tenth
 * of a CPU-second on a desktop core; `npm run bench`, image_refresh_cpu_ms_each), so once a minute
 * costs well under 1 % of one core and the picture is never more than a minute old.
 */
export const IMAGE_INTERVAL_DEFAULT = 60;

export const camerasSchema = z
  .object({
    /** Device paths to use; empty = discover every /dev/video* capture device. */
    devices: z.array(z.string().regex(/^\/dev\/[A-Za-z0-9_\-/.]+$/, 'must be a /dev path')).default([]),
    /** `auto`: add a simulated camera when no real one exists; `always`; `never`. */
    simulated: z.enum(['auto', 'always', 'never']).default('auto'),
    scan_interval_seconds: z.number().int().min(1).max(3600).default(5),
    jpeg_quality: z.number().int().min(1).max(100).default(80),
    stream_linger_seconds: z.number().int().min(0).max(600).default(10),
    ffmpeg_path: z.string().default('ffmpeg'),
    /** H.264 encoder for cameras that do not deliver H.264: auto tries VA-API, then V4L2 M2M, then software. */
    hwaccel: z.enum(['auto', 'none', 'vaapi', 'v4l2m2m']).default('auto'),
    /** MQTT camera image refreshes per second while the stream runs. */
    live_image_fps: z.number().min(0.1).max(10).default(1),
    /** Refresh the MQTT camera image this often while nobody streams (a brief capture); 0 = only on demand. */
    image_interval_seconds: z.number().int().min(0).max(86_400).default(IMAGE_INTERVAL_DEFAULT),
    /** Motion: how much a pixel must change (1–255) to count. */
    motion_threshold: z.number().int().min(1).max(255).default(25),
    /** Motion: share of the picture (percent) that must change. */
    motion_min_area_percent: z.number().min(0.1).max(100).default(1),
  })
  .strict();

export const recordingSchema = z
  .object({
    media_dir: z.string().default('./media'),
    /** Short enough that an unclean stop costs little; the open segment is fragmented MP4 anyway. */
    segment_seconds: z.number().int().min(5).max(3600).default(60),
    retention_days: z.number().int().min(0).max(3650).default(7),
    max_size_mb: z.number().int().min(0).max(1_000_000).default(2048),
    /** Recording stops (with a notice) rather than leave less than this free on the media folder's disk. */
    min_free_mb: z.number().int().min(0).max(1_000_000).default(1024),
    /** What the recording switch does when on: record all the time (`continuous` also turns it on at start) or clips around motion. */
    trigger: z.enum(['manual', 'continuous', 'motion']).default('manual'),
    pre_seconds: z.number().int().min(0).max(60).default(5),
    /** Snapshots saved per camera (Take snapshot, Rotoclear `snap`) in its media folder; the oldest go first; 0 = none saved. */
    snapshot_keep: z.number().int().min(0).max(100_000).default(100),
    post_seconds: z.number().int().min(0).max(600).default(10),
  })
  .strict();

export const monitorsSchema = z
  .object({
    /** true restores the Altoponix document's open flow: any monitor_id, no user token. */
    open_registration: z.boolean().default(false),
    command_timeout_seconds: z.number().int().min(1).max(3600).default(30),
  })
  .strict();

export const labsSchema = z
  .object({
    /** Allow lab nodes of kind `exec` (runs commands as the add-on's user). */
    allow_exec: z.boolean().default(false),
  })
  .strict();

export const nestmtxSchema = z
  .object({
    /** `log` event levels: the NestMTX document's table (info = 40) or pino's (info = 30, the original GUI's). */
    log_levels: z.enum(['document', 'pino']).default('document'),
  })
  .strict();

export const configSchema = z
  .object({
    log_level: z.enum(LOG_LEVELS).default('info'),
    data_dir: z.string().min(1).default('./data'),
    http_host: z.string().default('0.0.0.0'),
    http_port: portOrZero.default(2000),
    monitor_port: portOrZero.default(5000),
    admin_username: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9_.@-]+$/, 'may contain letters, digits, _ . @ -')
      .default('admin'),
    /** Unset: a random password is generated at first start and logged once. */
    admin_password: z.string().min(8, 'must be at least 8 characters').optional(),
    token_ttl_hours: z.number().int().min(1).max(24 * 365).default(24 * 7),
    /** Addresses of the Supervisor's ingress proxy: only requests from these may sign in as a Home Assistant user. */
    ingress_trusted_proxies: z.array(z.string().ip({ message: 'must be an IP address' })).max(16).default(['172.30.32.2']),
    /** Reverse proxies whose X-Forwarded-For names the client a failed login is counted for. */
    trusted_proxies: z.array(z.string().ip({ message: 'must be an IP address' })).max(16).default([]),
    mqtt: mqttSchema.default({}),
    homeassistant: homeassistantSchema.default({}),
    cameras: camerasSchema.default({}),
    recording: recordingSchema.default({}),
    monitors: monitorsSchema.default({}),
    labs: labsSchema.default({}),
    nestmtx: nestmtxSchema.default({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type LogLevel = (typeof LOG_LEVELS)[number];


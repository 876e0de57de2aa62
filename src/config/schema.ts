// The one config schema. Every key has a default here; config.yaml's options/schema and the
// translations are checked against this file by test/unit/addonConfig.test.ts.
import { z } from 'zod';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

const port = z.number().int().min(1).max(65535);
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
  })
  .strict();

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
  })
  .strict();

export const recordingSchema = z
  .object({
    media_dir: z.string().default('./media'),
    segment_seconds: z.number().int().min(5).max(3600).default(300),
    retention_days: z.number().int().min(0).max(3650).default(7),
    max_size_mb: z.number().int().min(0).max(1_000_000).default(2048),
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
    mqtt: mqttSchema.default({}),
    homeassistant: homeassistantSchema.default({}),
    cameras: camerasSchema.default({}),
    recording: recordingSchema.default({}),
    monitors: monitorsSchema.default({}),
    labs: labsSchema.default({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type LogLevel = (typeof LOG_LEVELS)[number];

export { port };

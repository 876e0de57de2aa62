// Config sources, merged in rising priority: schema defaults < YAML file < /data/options.json
// (only under the Supervisor) < SWITCHBOARD_* environment variables.
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { yamlLib } from '../core/lazyYaml.js';
import { z } from 'zod';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly problems: { key: string; problem: string }[] = [],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Plain = Record<string, unknown>;

export interface ConfigSources {
  argv?: string[];
  env?: NodeJS.ProcessEnv;
  /** Where the Supervisor writes the user's options; overridable for tests. */
  optionsPath?: string;
}

const ENV_PREFIX = 'SWITCHBOARD_';

export function isPlainObject(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepMerge(base: Plain, over: Plain): Plain {
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const prev = out[k];
    out[k] = isPlainObject(prev) && isPlainObject(v) ? deepMerge(prev, v) : v;
  }
  return out;
}

/** Unwraps defaults/optionals/effects so the env loader can see the key's real type. */
function inner(t: z.ZodTypeAny): z.ZodTypeAny {
  let cur = t;
  for (;;) {
    if (cur instanceof z.ZodDefault) cur = cur._def.innerType;
    else if (cur instanceof z.ZodOptional || cur instanceof z.ZodNullable) cur = cur.unwrap();
    else if (cur instanceof z.ZodEffects) cur = cur.innerType();
    else return cur;
  }
}

function coerceEnv(t: z.ZodTypeAny, raw: string, name: string): unknown {
  const base = inner(t);
  if (base instanceof z.ZodNumber) {
    const n = Number(raw);
    if (raw.trim() === '' || Number.isNaN(n)) throw new ConfigError(`${name}: expected a number, got "${raw}"`, [{ key: name, problem: 'expected a number' }]);
    return n;
  }
  if (base instanceof z.ZodBoolean) {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw new ConfigError(`${name}: expected true/false, got "${raw}"`, [{ key: name, problem: 'expected a boolean' }]);
  }
  if (base instanceof z.ZodArray) return raw.split(',').map((s) => s.trim()).filter(Boolean);
  return raw;
}

/** SWITCHBOARD_MQTT_EMBEDDED_PORT → {mqtt:{embedded_port}}: nested keys are found by walking the schema. */
export function configFromEnv(env: NodeJS.ProcessEnv): Plain {
  const out: Plain = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    if (name === 'SWITCHBOARD_CONFIG' || name === 'SWITCHBOARD_OPTIONS_PATH') continue;
    const path = resolveEnvPath(configSchema, name.slice(ENV_PREFIX.length).toLowerCase());
    if (!path) throw new ConfigError(`${name}: no such config key`, [{ key: name, problem: 'unknown key' }]);
    let target = out;
    for (const key of path.keys.slice(0, -1)) {
      target[key] = isPlainObject(target[key]) ? target[key] : {};
      target = target[key] as Plain;
    }
    target[path.keys[path.keys.length - 1]!] = coerceEnv(path.type, raw, name);
  }
  return out;
}

function resolveEnvPath(schema: z.ZodTypeAny, rest: string): { keys: string[]; type: z.ZodTypeAny } | null {
  const obj = inner(schema);
  if (!(obj instanceof z.ZodObject)) return null;
  const shape = obj.shape as Record<string, z.ZodTypeAny>;
  // Longest key first so `mqtt_url` never shadows a top-level `mqtt_url_x`.
  for (const key of Object.keys(shape).sort((a, b) => b.length - a.length)) {
    const t = shape[key]!;
    if (rest === key && !(inner(t) instanceof z.ZodObject)) return { keys: [key], type: t };
    if (rest.startsWith(key + '_') && inner(t) instanceof z.ZodObject) {
      const sub = resolveEnvPath(t, rest.slice(key.length + 1));
      if (sub) return { keys: [key, ...sub.keys], type: sub.type };
    }
  }
  return null;
}

/** `--config FILE` or `--config=FILE`. Other arguments are left to whoever started us (a test runner). */
function configFlag(argv: string[]): string | undefined {
  const value = parseArgs({ args: argv, options: { config: { type: 'string' } }, strict: false, allowPositionals: true }).values.config;
  return typeof value === 'string' ? value : undefined;
}

function readYamlFile(path: string): Plain {
  if (!existsSync(path)) throw new ConfigError(`config file ${path}: not found`, [{ key: 'config', problem: 'file not found' }]);
  let parsed: unknown;
  try {
    parsed = yamlLib().parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`config file ${path}: invalid YAML: ${(err as Error).message}`, [{ key: 'config', problem: 'invalid YAML' }]);
  }
  if (parsed == null) return {};
  if (!isPlainObject(parsed)) throw new ConfigError(`config file ${path}: the top level must be a mapping`);
  return parsed;
}

/**
 * The Supervisor writes every option, with optional ones left out; HA's UI cannot express
 * "unset" for a string otherwise, so empty strings count as unset.
 */
function readOptions(path: string): Plain {
  if (!existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${path}: invalid JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(parsed)) throw new ConfigError(`${path}: expected a JSON object`);
  return dropEmpty(parsed);
}

function dropEmpty(o: Plain): Plain {
  const out: Plain = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === '' || v === null) continue;
    out[k] = isPlainObject(v) ? dropEmpty(v) : v;
  }
  return out;
}

/** Defaults that differ when running as a Home Assistant add-on. */
const ADDON_DEFAULTS: Plain = {
  data_dir: '/data',
  mqtt: { url: 'auto' },
  recording: { media_dir: '/media/switchboard' },
};

export function isAddon(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.SUPERVISOR_TOKEN);
}

export function formatIssues(error: z.ZodError): { key: string; problem: string }[] {
  return error.issues.map((i) => {
    const key = i.path.join('.') || '(root)';
    if (i.code === 'unrecognized_keys') return { key: i.keys.map((k) => (i.path.length ? `${key}.${k}` : k)).join(', '), problem: 'unknown key' };
    return { key, problem: i.message };
  });
}

export function parseConfig(input: Plain): Config {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const problems = formatIssues(result.error);
    throw new ConfigError('invalid configuration: ' + problems.map((p) => `${p.key}: ${p.problem}`).join('; '), problems);
  }
  return result.data;
}

export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const argv = sources.argv ?? process.argv.slice(2);
  let merged: Plain = isAddon(env) ? deepMerge({}, ADDON_DEFAULTS) : {};
  const file = configFlag(argv) ?? env.SWITCHBOARD_CONFIG;
  if (file) merged = deepMerge(merged, readYamlFile(file));
  if (isAddon(env)) merged = deepMerge(merged, readOptions(sources.optionsPath ?? env.SWITCHBOARD_OPTIONS_PATH ?? '/data/options.json'));
  merged = deepMerge(merged, configFromEnv(env));
  return parseConfig(merged);
}

// One source of truth for the add-on's options: config.yaml (options + schema), the zod schema in
// src/config/schema.ts and translations/*.yaml must agree, and config.yaml / build.yaml must pass
// what the add-on linter and the Supervisor check. Fixtures: test/fixtures/addon-linter/README.md.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { loadConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (rel: string) => readFileSync(join(ROOT, rel), 'utf8');
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const readYaml = (rel: string): JsonObject => {
  const parsed: unknown = parseYaml(read(rel));
  if (!isObject(parsed)) throw new Error(`${rel}: the top level must be a mapping`);
  return parsed;
};

const addon = readYaml('config.yaml');
const build = readYaml('build.yaml');
const pkg = JSON.parse(read('package.json')) as { version: string };
const dockerfile = read('Dockerfile');
const LANGUAGES = ['en', 'de'];

// ---------------------------------------------------------------------------------------------
// The linter's two draft-07 schemas, checked with ajv, plus the linter's own extension
// (lint.py check_is_default): a property equal to its default is an error.

interface JsonSchema {
  properties?: Record<string, JsonSchema>;
  pattern?: string;
  default?: Json;
  [keyword: string]: unknown;
}

const deepEqual = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** The schemas' patterns come from Python: `(?P<name>` is `(?<name>` in JavaScript. */
function toJsPatterns(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsPatterns);
  if (!isObject(node)) return node;
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === 'pattern' && typeof v === 'string' ? v.replace(/\(\?P</g, '(?<') : toJsPatterns(v)]));
}

const ajv = new Ajv({ allErrors: true });

function usedDefaults(schema: JsonSchema, value: Json, path: string, errors: string[]): void {
  if (!isObject(value)) return;
  for (const [key, sub] of Object.entries(schema.properties ?? {})) {
    if (!(key in value)) continue;
    if ('default' in sub && deepEqual(value[key], sub.default)) errors.push(`${path}: '${key}' should be removed, it uses a default value`);
    usedDefaults(sub, value[key]!, `${path}.${key}`, errors);
  }
}

function checkJsonSchema(schema: JsonSchema, value: Json): string[] {
  const errors: string[] = [];
  usedDefaults(schema, value, '$', errors);
  const validate = ajv.compile(toJsPatterns(schema) as object);
  if (validate(value)) return errors;
  for (const e of validate.errors ?? []) {
    const at = `$${e.dataPath}`;
    if (e.keyword === 'additionalProperties') errors.push(`${at}: additional property '${(e.params as { additionalProperty: string }).additionalProperty}' is not allowed`);
    else errors.push(`${at}: ${e.message ?? e.keyword}`);
  }
  return errors;
}

// supervisor store/data.py `_find_app_configs`: glob `**/config.*`, no path part starting with "." or named rootfs, suffix .json/.yaml/.yml.
function supervisorAppConfigs(paths: string[]): string[] {
  return paths.filter((p) => {
    const parts = p.split('/');
    const name = parts.at(-1)!;
    if (!name.startsWith('config.') || parts.some((part) => part.startsWith('.') || part === 'rootfs')) return false;
    return ['.json', '.yaml', '.yml'].some((suffix) => name.endsWith(suffix));
  });
}

const linterSchema = (name: string) => JSON.parse(read(`test/fixtures/addon-linter/${name}`)) as JsonSchema;
// Named so it is no `config.*`: the Supervisor would take a `config.schema.json` for an app config.

/** lint.py's checks beyond the JSON schema (errors only; its warnings count as errors here too). */
function lintConfig(config: JsonObject): string[] {
  const errors = checkJsonSchema(linterSchema('addon-config.schema.json'), config);
  if (config.ingress === true) {
    if (config.webui) errors.push("'webui' should be removed, Ingress is enabled.");
    if (config.host_network !== true && (config.ingress_port ?? 8099) === 0) errors.push("'ingress_port' must not be 0 without host_network");
  }
  if ('auto_uart' in config) errors.push("'auto_uart' is deprecated, use 'uart' instead.");
  if (Array.isArray(config.devices) && config.devices.some((d) => String(d).includes(':'))) errors.push("'devices' uses a deprecated format");
  if (typeof (config.tmpfs ?? false) !== 'boolean') errors.push("'tmpfs' use a deprecated format");
  if (config.watchdog) errors.push("'watchdog', is obsolete. Use the native Docker HEALTHCHECK directive instead.");
  if (config.full_access) errors.push("'full_access' consider using other options instead");
  if (config.advanced) errors.push("'advanced' is deprecated");
  // supervisor/const.py ARCH_DEPRECATED: no longer supported as of Home Assistant 2025.12.
  if (Array.isArray(config.arch)) for (const a of config.arch) if (['armhf', 'armv7', 'i386'].includes(String(a))) errors.push(`arch '${String(a)}' is deprecated`);
  return errors;
}

// ---------------------------------------------------------------------------------------------
// The Supervisor's options grammar (supervisor/apps/options.py RE_SCHEMA_ELEMENT, verbatim but
// for Python's `(?P<` group syntax) and its structure rules (apps/validate.py SCHEMA_ELEMENT).

const RE_SCHEMA_ELEMENT = new RegExp(
  '^(?:' +
    '|bool' +
    '|email' +
    '|url' +
    '|port' +
    '|device(?:\\((?<filter>subsystem=[a-z]+)\\))?' +
    '|str(?:\\((?<s_min>\\d+)?,(?<s_max>\\d+)?\\))?' +
    '|password(?:\\((?<p_min>\\d+)?,(?<p_max>\\d+)?\\))?' +
    '|int(?:\\((?<i_min>-?\\d+)?,(?<i_max>-?\\d+)?\\))?' +
    '|float(?:\\((?<f_min>-?\\d*\\.?\\d+)?,(?<f_max>-?\\d*\\.?\\d+)?\\))?' +
    '|match\\((?<match>.*)\\)' +
    '|list\\((?<list>.+)\\)' +
    ')\\??$',
);

interface Element {
  type: 'bool' | 'email' | 'url' | 'port' | 'device' | 'str' | 'password' | 'int' | 'float' | 'match' | 'list';
  optional: boolean;
  min?: number;
  max?: number;
  match?: string;
  list?: string[];
}

function parseElement(raw: string): Element {
  const m = RE_SCHEMA_ELEMENT.exec(raw);
  if (!m || raw === '' || raw === '?') throw new Error(`"${raw}" is not a valid schema element`);
  const g = m.groups ?? {};
  const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));
  return {
    type: /^[a-z]+/.exec(raw)![0] as Element['type'],
    optional: isOptional(raw),
    min: num(g.s_min ?? g.p_min ?? g.i_min ?? g.f_min),
    max: num(g.s_max ?? g.p_max ?? g.i_max ?? g.f_max),
    ...(g.match !== undefined ? { match: g.match } : {}),
    ...(g.list !== undefined ? { list: g.list.split('|') } : {}),
  };
}

/** A `match(...)?` ends in `)?`: the regex group is greedy, so optional-ness is the trailing `?`. */
function isOptional(raw: string): boolean {
  return raw.endsWith('?');
}

/** Returns problems with the schema's structure: grammar of every element, nesting, list shape. */
function checkSchemaStructure(schema: Json, path: string, depth: number, errors: string[] = []): string[] {
  if (typeof schema === 'string') {
    if (!RE_SCHEMA_ELEMENT.test(schema) || schema === '' || schema === '?') errors.push(`${path}: "${schema}" does not match RE_SCHEMA_ELEMENT`);
  } else if (Array.isArray(schema)) {
    if (schema.length !== 1) errors.push(`${path}: a list schema has exactly one element`);
    else if (Array.isArray(schema[0])) errors.push(`${path}: a list may not directly contain a list`);
    else checkSchemaStructure(schema[0]!, `${path}[]`, depth, errors);
  } else if (isObject(schema)) {
    if (depth >= 2) errors.push(`${path}: options may nest at most two levels deep`);
    for (const [k, v] of Object.entries(schema)) checkSchemaStructure(v, path ? `${path}.${k}` : k, depth + 1, errors);
  } else errors.push(`${path}: unexpected ${schema === null ? "null" : typeof schema} in schema`);
  return errors;
}

/** What the Supervisor accepts for one element (apps/options.py _single_validate). */
function supervisorAccepts(el: Element, value: Json): boolean {
  const inRange = (n: number) => (el.min === undefined || n >= el.min) && (el.max === undefined || n <= el.max);
  switch (el.type) {
    case 'bool':
      return typeof value === 'boolean';
    case 'int':
      return typeof value === 'number' && Number.isInteger(value) && inRange(value);
    case 'float':
      return typeof value === 'number' && inRange(value);
    case 'port':
      return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;
    case 'str':
    case 'password':
      return typeof value === 'string' && inRange(value.length);
    case 'email':
      return typeof value === 'string' && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value);
    case 'url':
      return typeof value === 'string' && URL.canParse(value);
    case 'match':
      // Python re.match: anchored at the start only.
      return typeof value === 'string' && new RegExp('^(?:' + el.match! + ')').test(value);
    case 'list':
      return typeof value === 'string' && el.list!.includes(value);
    case 'device':
      return typeof value === 'string' && value.startsWith('/dev/');
  }
}

/** The Supervisor's check of a whole options object against the schema (missing keys, types). */
function checkOptions(schema: JsonObject, options: JsonObject, path = ''): string[] {
  const errors: string[] = [];
  for (const [key, raw] of Object.entries(schema)) {
    const p = path ? `${path}.${key}` : key;
    const value = options[key];
    if (isObject(raw)) {
      if (!isObject(value ?? null)) errors.push(`${p}: missing dict`);
      else errors.push(...checkOptions(raw, value as JsonObject, p));
    } else if (Array.isArray(raw)) {
      if (!Array.isArray(value)) errors.push(`${p}: missing list`);
      else value.forEach((v, i) => supervisorAccepts(parseElement(raw[0] as string), v) || errors.push(`${p}[${i}]: ${JSON.stringify(v)} rejected`));
    } else if (value === undefined) {
      if (!isOptional(raw as string)) errors.push(`${p}: missing required option`);
    } else if (!supervisorAccepts(parseElement(raw as string), value)) errors.push(`${p}: ${JSON.stringify(value)} rejected by "${String(raw)}"`);
  }
  for (const key of Object.keys(options)) if (!(key in schema)) errors.push(`${path ? path + '.' : ''}${key}: not in schema (the Supervisor drops it)`);
  return errors;
}

// ---------------------------------------------------------------------------------------------
// Walking the zod schema.

/** Config keys that are deliberately not add-on options, and why. */
const NOT_ADDON_OPTIONS: Record<string, string> = {
  data_dir: 'fixed to /data, the add-on’s persistent folder',
  http_host: 'must listen on all interfaces for the port mapping and ingress',
  http_port: 'container port 2000 is what ports, ingress_port and HEALTHCHECK use; users remap the host port in the Network section',
  monitor_port: 'container port 5000 is what ports uses; users remap the host port in the Network section',
  'mqtt.embedded_port': 'container port 1883 is what ports uses; users remap the host port in the Network section',
  'homeassistant.url': 'standalone only: the add-on reaches Home Assistant through the Supervisor proxy',
  'homeassistant.token': 'standalone only: the add-on authenticates with SUPERVISOR_TOKEN',
  'homeassistant.config_dir': 'the homeassistant_config map mounts HA’s config folder at /homeassistant',
  'cameras.ffmpeg_path': 'the image installs ffmpeg on PATH',
  ingress_trusted_proxies: 'the Supervisor’s ingress proxy is always 172.30.32.2',
};

/**
 * Keys whose length the app checks and config.yaml deliberately does not: Supervisors before
 * 2026.07.4 reject every value of a bounded `password(8,)`/`str(1,64)`. `sample` is a value both accept.
 */
const CHECKED_IN_APP_ONLY: Record<string, { reason: string; sample: string }> = {
  admin_password: { reason: 'at least 8 characters', sample: 'a'.repeat(8) },
  'mqtt.client_id': { reason: '1 to 64 characters', sample: 'switchboard_test' },
  'trusted_proxies[]': { reason: 'an IPv4 or IPv6 address (config.yaml admits only its characters)', sample: '192.168.1.10' },
};

interface ZodLeaf {
  node: z.ZodTypeAny;
  base: z.ZodTypeAny;
  optional: boolean;
  hasDefault: boolean;
}

function unwrap(t: z.ZodTypeAny): ZodLeaf {
  let cur = t;
  let optional = false;
  let hasDefault = false;
  for (;;) {
    if (cur instanceof z.ZodDefault) {
      hasDefault = true;
      cur = cur._def.innerType as z.ZodTypeAny;
    } else if (cur instanceof z.ZodOptional) {
      optional = true;
      cur = cur.unwrap() as z.ZodTypeAny;
    } else if (cur instanceof z.ZodEffects) cur = cur.innerType() as z.ZodTypeAny;
    else return { node: t, base: cur, optional: optional && !hasDefault, hasDefault };
  }
}

function zodPaths(schema: z.ZodTypeAny, prefix = ''): string[] {
  const { base } = unwrap(schema);
  if (!(base instanceof z.ZodObject)) return [prefix];
  return Object.entries(base.shape as Record<string, z.ZodTypeAny>).flatMap(([k, v]) => zodPaths(v, prefix ? `${prefix}.${k}` : k));
}

function zodAt(path: string): z.ZodTypeAny | undefined {
  let cur: z.ZodTypeAny | undefined = configSchema;
  for (const key of path.split('.')) {
    const { base }: ZodLeaf = unwrap(cur!);
    if (!(base instanceof z.ZodObject)) return undefined;
    cur = (base.shape as Record<string, z.ZodTypeAny>)[key];
    if (!cur) return undefined;
  }
  return cur;
}

function addonPaths(schema: JsonObject, prefix = ''): string[] {
  return Object.entries(schema).flatMap(([k, v]) => (isObject(v) ? addonPaths(v, prefix ? `${prefix}.${k}` : k) : [prefix ? `${prefix}.${k}` : k]));
}

function at(obj: Json | undefined, path: string): Json | undefined {
  let cur = obj;
  for (const key of path.split('.')) cur = isObject(cur ?? null) ? (cur as JsonObject)[key] : undefined;
  return cur;
}

/** Strings probed against both sides: what the add-on UI lets through, the app must accept. */
const STRING_PROBES = [
  'x', 'short', 'admin', 'a b', 'with space', 'ümlaut', 'a'.repeat(8), 'a'.repeat(64), 'a'.repeat(65),
  'auto', 'embedded', 'disabled', 'mqtt://core-mosquitto:1883', 'mqtts://broker.example:8883', 'mqtt://', 'http://x', 'ftp://x',
  '/dev/video0', '/dev/v4l/by-id/usb-cam-video-index0', '/dev/../etc', '/etc/passwd', '/media/switchboard', '/share/cams', '/media', '/tmp/x',
  'home/assistant', 'homeassistant', 'switchboard', '127.0.0.1', '0.0.0.0', 'x;rm -rf /', 'user@example.com', 'A.b-c_d@e',
];

/** Problems between one add-on schema entry and the zod node for the same key. */
function compareLeaf(path: string, raw: Json, zodNode: z.ZodTypeAny): string[] {
  const problems: string[] = [];
  const leaf = unwrap(zodNode);
  if (Array.isArray(raw)) {
    if (!(leaf.base instanceof z.ZodArray)) return [`${path}: add-on list, zod ${leaf.base.constructor.name}`];
    return compareLeaf(`${path}[]`, raw[0]!, leaf.base.element as z.ZodTypeAny);
  }
  const el = parseElement(String(raw));
  const base = leaf.base;
  if (isOptional(String(raw)) !== leaf.optional) problems.push(`${path}: optional in ${isOptional(String(raw)) ? 'add-on' : 'zod'} only`);
  if (el.type === 'bool') {
    if (!(base instanceof z.ZodBoolean)) problems.push(`${path}: bool vs zod ${base.constructor.name}`);
  } else if (el.type === 'int' || el.type === 'port' || el.type === 'float') {
    if (!(base instanceof z.ZodNumber)) return [`${path}: ${el.type} vs zod ${base.constructor.name}`];
    if (el.type !== 'float' && !base.isInt) problems.push(`${path}: zod allows fractions`);
    if (el.type === 'port') {
      if ((base.minValue ?? -Infinity) > 1 || (base.maxValue ?? Infinity) < 65535) problems.push(`${path}: port range 1-65535 not inside zod range`);
    } else if (el.min !== base.minValue || el.max !== base.maxValue) {
      problems.push(`${path}: add-on range ${el.min},${el.max} vs zod ${base.minValue},${base.maxValue}`);
    }
  } else if (el.type === 'list') {
    if (!(base instanceof z.ZodEnum)) return [`${path}: list() vs zod ${base.constructor.name}`];
    if (!deepEqual([...el.list!].sort(), [...(base.options as string[])].sort())) problems.push(`${path}: list(${el.list!.join('|')}) vs zod enum ${(base.options as string[]).join('|')}`);
  } else {
    if (!(base instanceof z.ZodString)) return [`${path}: ${el.type} vs zod ${base.constructor.name}`];
    // The node with its refinements; its default/optional wrappers do not matter for one value.
    const check = leaf.node instanceof z.ZodDefault || leaf.node instanceof z.ZodOptional ? unwrapWrappers(leaf.node) : leaf.node;
    for (const probe of path in CHECKED_IN_APP_ONLY ? [] : STRING_PROBES) {
      if (supervisorAccepts(el, probe) && !check.safeParse(probe).success) problems.push(`${path}: the add-on accepts "${probe}" but the app rejects it`);
    }
  }
  return problems;
}

function unwrapWrappers(t: z.ZodTypeAny): z.ZodTypeAny {
  let cur = t;
  while (cur instanceof z.ZodDefault || cur instanceof z.ZodOptional) cur = cur instanceof z.ZodDefault ? (cur._def.innerType as z.ZodTypeAny) : (cur.unwrap() as z.ZodTypeAny);
  return cur;
}

/** A value the Supervisor accepts for the element, to exercise optional keys. */
function sampleValue(el: Element): Json {
  switch (el.type) {
    case 'bool':
      return true;
    case 'int':
    case 'float':
      return el.min ?? 1;
    case 'port':
      return 1884;
    case 'list':
      return el.list![0]!;
    default: {
      const fitting = STRING_PROBES.find((p) => supervisorAccepts(el, p));
      if (fitting === undefined) throw new Error(`no sample for ${JSON.stringify(el)}`);
      return fitting;
    }
  }
}

// The defaults a user gets in the add-on when options.json is empty: zod defaults + ADDON_DEFAULTS.
const tmp = mkdtempSync(join(tmpdir(), 'sb-addon-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const addonEnv = { SUPERVISOR_TOKEN: 'test-token' };
const effectiveDefaults = loadConfig({ argv: [], env: addonEnv, optionsPath: join(tmp, 'absent.json') }) as unknown as JsonObject;

function loadWithOptions(options: JsonObject, name: string) {
  const file = join(tmp, `${name}.json`);
  writeFileSync(file, JSON.stringify(options));
  return loadConfig({ argv: [], env: addonEnv, optionsPath: file });
}

const schema = addon.schema as JsonObject;
const options = addon.options as JsonObject;
const ports = addon.ports as JsonObject;

describe('config.yaml against the add-on linter and the Supervisor', () => {
  it('passes the linter schema and rules, with no key set to its default', () => {
    expect(lintConfig(addon)).toEqual([]);
  });

  it('catches what the linter catches (the checker is not vacuous)', () => {
    const bad = { ...addon, startup: 'application', boot: 'auto', init: true, ingress_port: 8099, watchdog: 'http://[HOST]:[PORT:2000]/api/health', arch: ['armv7'], bogus: 1 };
    const errors = lintConfig(bad).join('\n');
    for (const k of ['startup', 'boot', 'init', 'ingress_port']) expect(errors).toContain(`'${k}' should be removed, it uses a default value`);
    expect(errors).toContain("'watchdog', is obsolete");
    expect(errors).toContain("arch 'armv7' is deprecated");
    expect(errors).toContain("additional property 'bogus'");
    expect(lintConfig({ ...addon, services: ['mqtt:maybe'] }).join()).toContain('should match pattern');
    expect(lintConfig({ ...addon, ports: { '2000/tcp': 70000 } }).join()).toContain('should match some schema in anyOf');
  });

  it('has the identity, architectures and integration keys the add-on needs', () => {
    expect(addon.version).toBe(pkg.version);
    expect(addon.slug).toMatch(/^[-_.A-Za-z0-9]+$/); // supervisor/apps/const.py RE_SLUG
    expect(addon.slug).toBe('switchboard');
    expect([...(addon.arch as string[])].sort()).toEqual(['aarch64', 'amd64']);
    expect(addon.init).toBe(false); // s6-overlay /init is PID 1
    expect(addon.services).toEqual(['mqtt:want']);
    expect(addon).toMatchObject({ homeassistant_api: true, video: true, ingress: true, panel_icon: 'mdi:cctv' });
    expect(addon.hassio_api).toBeUndefined();
    expect(addon.timeout).toBeUndefined(); // 10 s default; src/main.ts stops within 8 s
  });

  it('maps ports, describes them, and points ingress at the web panel', () => {
    expect(ports).toEqual({ '2000/tcp': 2000, '5000/tcp': 5000, '1883/tcp': null });
    for (const key of Object.keys(ports)) expect(key).toMatch(/^\d+(?:\/tcp|\/udp)?$/); // supervisor/validate.py docker_port
    expect(Object.keys(addon.ports_description as JsonObject).sort()).toEqual(Object.keys(ports).sort());
    // Fixed container ports that are not options (NOT_ADDON_OPTIONS) must match the app's defaults.
    expect(addon.ingress_port).toBe(effectiveDefaults.http_port);
    expect(ports[`${String(effectiveDefaults.http_port)}/tcp`]).toBeDefined();
    expect(ports[`${String(effectiveDefaults.monitor_port)}/tcp`]).toBeDefined();
    expect(ports[`${String(at(effectiveDefaults, 'mqtt.embedded_port'))}/tcp`]).toBeNull();
    expect(effectiveDefaults.http_host).toBe('0.0.0.0');
    expect(effectiveDefaults.data_dir).toBe('/data');
    expect(effectiveDefaults.ingress_trusted_proxies).toEqual(['172.30.32.2']); // docs/apps/presentation.md
  });

  it('maps the media folder writable for recordings', () => {
    const map = addon.map as JsonObject[];
    expect(map).toContainEqual({ type: 'media', read_only: false });
    expect(at(options, 'recording.media_dir')).toMatch(/^\/media\//);
  });

  it('writes every schema element in the Supervisor grammar, nested at most two levels', () => {
    expect(checkSchemaStructure(schema, '', 0)).toEqual([]);
    expect(checkSchemaStructure({ a: 'str=admin', b: [['str']], c: { d: { e: 'bool' } }, f: 'int(1,x)' }, '', 0)).toEqual([
      'a: "str=admin" does not match RE_SCHEMA_ELEMENT',
      'b: a list may not directly contain a list',
      'c.d: options may nest at most two levels deep',
      'f: "int(1,x)" does not match RE_SCHEMA_ELEMENT',
    ]);
  });

  it('gives defaults the Supervisor accepts, and none for optional keys', () => {
    expect(checkOptions(schema, options)).toEqual([]);
    for (const path of addonPaths(schema)) {
      const raw = at(schema, path);
      if (typeof raw === 'string' && isOptional(raw)) expect(at(options, path), `${path} is optional: no default in options`).toBeUndefined();
    }
  });
});

describe('config.yaml against the zod schema (one source of truth)', () => {
  const zodLeaves = zodPaths(configSchema);
  const addonLeaves = addonPaths(schema);

  it('has every user-facing config key as an option, and nothing else', () => {
    for (const path of Object.keys(NOT_ADDON_OPTIONS)) expect(zodLeaves, `${path} is listed as not an option but is no config key`).toContain(path);
    const expected = zodLeaves.filter((p) => !(p in NOT_ADDON_OPTIONS)).sort();
    expect(addonLeaves.sort()).toEqual(expected);
  });

  it('uses a compatible type, the same range and the same optionality for every key', () => {
    const problems = addonLeaves.flatMap((path) => {
      const node = zodAt(path);
      return node ? compareLeaf(path, at(schema, path)!, node) : [`${path}: no such config key`];
    });
    expect(problems).toEqual([]);
  });

  it('defaults every option to what the app uses in the add-on', () => {
    for (const path of addonLeaves) {
      const value = at(options, path);
      if (value !== undefined) expect(value, path).toEqual(at(effectiveDefaults, path));
      else expect(at(effectiveDefaults, path), `${path}: the app has a default, so the add-on needs one`).toBeUndefined();
    }
  });

  it('loads the options the Supervisor writes into exactly the default configuration', () => {
    expect(loadWithOptions(options, 'defaults')).toEqual(effectiveDefaults);
  });

  it('loads options with every optional key set and unset (empty strings) without error', () => {
    const full = structuredClone(options);
    const cleared = structuredClone(options);
    for (const path of addonLeaves) {
      const raw = at(schema, path);
      if (typeof raw !== 'string' || !isOptional(raw)) continue;
      const [group, key] = path.includes('.') ? (path.split('.') as [string, string]) : [undefined, path];
      const target = (o: JsonObject) => (group ? (o[group] as JsonObject) : o);
      target(full)[key] = CHECKED_IN_APP_ONLY[path]?.sample ?? sampleValue(parseElement(raw));
      target(cleared)[key] = '';
    }
    expect(checkOptions(schema, full)).toEqual([]);
    const loaded = loadWithOptions(full, 'full') as unknown as JsonObject;
    for (const path of addonLeaves) expect(at(loaded, path), path).toEqual(at(full, path));
    expect(loadWithOptions(cleared, 'cleared')).toEqual(effectiveDefaults);
  });

  it('detects a disagreement (the comparison is not vacuous)', () => {
    expect(compareLeaf('cameras.jpeg_quality', 'int(1,99)', zodAt('cameras.jpeg_quality')!)).toEqual(['cameras.jpeg_quality: add-on range 1,99 vs zod 1,100']);
    expect(compareLeaf('log_level', 'list(info|debug)', zodAt('log_level')!)[0]).toContain('vs zod enum');
    expect(compareLeaf('admin_username', 'str', zodAt('admin_username')!)).toContain('admin_username: the add-on accepts "a b" but the app rejects it');
    expect(compareLeaf('mqtt.username', 'str', zodAt('mqtt.username')!)).toEqual(['mqtt.username: optional in zod only']);
    expect(compareLeaf('labs.allow_exec', 'str', zodAt('labs.allow_exec')!)[0]).toContain('str vs zod ZodBoolean');
  });
});

describe('translations', () => {
  for (const lang of LANGUAGES) {
    it(`${lang}.yaml names and describes every option and port`, () => {
      const t = readYaml(`translations/${lang}.yaml`);
      expect(Object.keys(t).sort()).toEqual(['configuration', 'network']);
      const conf = t.configuration as JsonObject;
      const problems: string[] = [];
      const checkEntry = (path: string, entry: Json | undefined, sub: Json) => {
        if (!isObject(entry ?? null)) {
          problems.push(`${path}: missing`);
          return;
        }
        const e = entry as JsonObject;
        if (typeof e.name !== 'string' || !e.name.trim()) problems.push(`${path}: no name`);
        if (typeof e.description !== 'string' || !e.description.trim()) problems.push(`${path}: no description`);
        const allowed = isObject(sub) ? ['name', 'description', 'fields'] : ['name', 'description'];
        for (const k of Object.keys(e)) if (!allowed.includes(k)) problems.push(`${path}: unexpected key ${k}`);
        if (isObject(sub)) {
          const fields = (isObject(e.fields ?? null) ? e.fields : {}) as JsonObject;
          for (const [k, v] of Object.entries(sub)) checkEntry(`${path}.${k}`, fields[k], v);
          for (const k of Object.keys(fields)) if (!(k in sub)) problems.push(`${path}.${k}: not an option`);
        }
      };
      for (const [k, v] of Object.entries(schema)) checkEntry(k, conf[k], v);
      for (const k of Object.keys(conf)) if (!(k in schema)) problems.push(`${k}: not an option`);
      expect(problems).toEqual([]);
      const network = t.network as JsonObject;
      expect(Object.keys(network).sort()).toEqual(Object.keys(ports).sort());
      for (const v of Object.values(network)) expect(typeof v === 'string' && v.trim().length > 0).toBe(true);
    });
  }
});

describe('build.yaml, Dockerfile and the repository layout', () => {
  const buildFromDefault = /^ARG BUILD_FROM=(\S+)$/m.exec(dockerfile)?.[1];

  it('build.yaml passes the linter schema and agrees with config.yaml and the Dockerfile', () => {
    expect(checkJsonSchema(linterSchema('build.schema.json'), build)).toEqual([]);
    expect(checkJsonSchema(linterSchema('build.schema.json'), { ...build, squash: false, bogus: 1 })).toEqual([
      "$: 'squash' should be removed, it uses a default value",
      "$: additional property 'bogus' is not allowed",
    ]);
    const from = build.build_from as JsonObject;
    expect(Object.keys(from).sort()).toEqual([...(addon.arch as string[])].sort());
    expect(buildFromDefault).toBe('ghcr.io/home-assistant/base:3.23');
    for (const image of Object.values(from)) expect(image).toBe(buildFromDefault);
  });

  it('Dockerfile builds FROM ${BUILD_FROM}, labels the image and checks its health', () => {
    const froms = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    expect(froms.length).toBeGreaterThan(0);
    for (const f of froms) expect(f).toBe('${BUILD_FROM}');
    expect(dockerfile.search(/^ARG BUILD_FROM=/m)).toBeLessThan(dockerfile.search(/^FROM /m));
    expect(dockerfile).toContain('io.hass.version="${BUILD_VERSION}"');
    expect(dockerfile).toContain('io.hass.type="app"');
    expect(dockerfile).toContain('io.hass.arch="${BUILD_ARCH}"');
    expect(/^ARG BUILD_VERSION=(\S+)$/m.exec(dockerfile)?.[1]).toBe(pkg.version);
    expect(dockerfile).toMatch(/^RUN apk add --no-cache nodejs npm ffmpeg v4l-utils$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*http:\/\/127\.0\.0\.1:2000\/api\/health/m);
    expect(addon.watchdog).toBeUndefined();
  });

  it('has exactly one app config: config.yaml (the Supervisor takes every config.* it finds)', () => {
    // The repository as the Supervisor's clone holds it: tracked and new, not ignored, files.
    const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(files.length).toBeGreaterThan(50);
    expect(supervisorAppConfigs(files)).toEqual(['config.yaml']);
    expect(readYaml('repository.yaml').name).toEqual(expect.any(String));
  });

  it('finds app configs the way the Supervisor does (the check is not vacuous)', () => {
    const paths = ['config.yaml', 'test/fixtures/addon-linter/config.schema.json', 'x/config.yml', '.github/config.yaml', 'addon/rootfs/config.json', 'config.txt', 'my-config.yaml', 'test/fixtures/addon-linter/addon-config.schema.json'];
    expect(supervisorAppConfigs(paths)).toEqual(['config.yaml', 'test/fixtures/addon-linter/config.schema.json', 'x/config.yml']);
  });

  it('ships the files the store and the Supervisor read beside config.yaml', () => {
    for (const f of ['DOCS.md', 'CHANGELOG.md', 'apparmor.txt', 'addon/rootfs/etc/services.d/switchboard/run', 'addon/rootfs/etc/services.d/switchboard/finish']) {
      expect(existsSync(join(ROOT, f)), f).toBe(true);
    }
    expect(read('apparmor.txt')).toMatch(/^profile switchboard flags=/m);
    const png = (f: string) => {
      const b = readFileSync(join(ROOT, f));
      expect(b.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
      return [b.readUInt32BE(16), b.readUInt32BE(20)];
    };
    expect(png('icon.png')).toEqual([128, 128]);
    expect(png('logo.png')).toEqual([250, 100]);
    expect(read('CHANGELOG.md')).toContain(`## [${pkg.version}]`);
  });

  it('DOCS.md documents every option', () => {
    const docs = read('DOCS.md');
    const missing = addonPaths(schema).filter((p) => !docs.includes('`' + p + '`'));
    expect(missing).toEqual([]);
  });
});

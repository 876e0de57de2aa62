// Home Assistant core's config-entry REST API as the HA peer serves it, message by message:
// the data-entry-flow views (core config/config_entries.py, helpers/data_entry_flow.py) with the
// Generic Camera integration's config and options flows (generic/config_flow.py), config entry
// deletion, and the entity registry entries the websocket side lists. Reached at /api/... (standalone) and /core/api/... (the Supervisor proxy).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

type Json = Record<string, unknown>;

export interface PeerEntry {
  entry_id: string;
  domain: string;
  title: string;
  options: Json;
}

export interface RegistryEntity {
  entity_id: string;
  config_entry_id: string;
  platform: string;
  unique_id: string;
  name: string | null;
}

interface Flow {
  flow_id: string;
  kind: 'config' | 'options';
  handler: string;
  step_id: string;
  /** The user step's accepted input, for user_confirm. */
  pending: Json | null;
}

export interface ConfigFlowOptions {
  /** `sections`: newer HA (PR #148430) puts the advanced fields into an expandable section. */
  layout: 'flat' | 'sections';
  /** The step after `user` (older builds: user_confirm_still). */
  confirmStep: string;
  /** Checks the stream like HA's worker would; returns an error code, or null when it plays. */
  checkStream: (url: string) => Promise<string | null>;
}

/** The advanced fields (the section HA ≥ 2025.12 collapses; its key name is unverified, we use `advanced`). */
const ADVANCED = ['rtsp_transport', 'authentication', 'framerate', 'verify_ssl', 'limit_refetch_to_url_change'];
const SECTION = 'advanced';

function userSchema(layout: ConfigFlowOptions['layout'], defaults: Json = {}): Json[] {
  const d = (name: string, fallback?: unknown) => (defaults[name] !== undefined ? { default: defaults[name] } : fallback !== undefined ? { default: fallback } : {});
  const urls: Json[] = [
    { type: 'string', name: 'still_image_url', optional: true, ...d('still_image_url') },
    { type: 'string', name: 'stream_source', optional: true, ...d('stream_source') },
  ];
  const advanced: Json[] = [
    { type: 'select', name: 'rtsp_transport', optional: true, options: [['tcp', 'TCP'], ['udp', 'UDP'], ['udp_multicast', 'UDP Multicast'], ['http', 'HTTP']] },
    { type: 'select', name: 'authentication', optional: true, options: [['basic', 'Basic'], ['digest', 'Digest']], ...d('authentication', 'basic') },
    { type: 'string', name: 'username', optional: true },
    { type: 'string', name: 'password', optional: true },
    // Required with a suggested value but no default: the client must send it.
    { type: 'float', name: 'framerate', required: true, description: { suggested_value: 2 } },
    { type: 'boolean', name: 'verify_ssl', required: true, ...d('verify_ssl', true) },
    { type: 'boolean', name: 'limit_refetch_to_url_change', optional: true, ...d('limit_refetch_to_url_change', false) },
  ];
  if (layout === 'flat') return [...urls, ...advanced];
  const inSection = advanced.filter((f) => ADVANCED.includes(f.name as string));
  return [...urls, ...advanced.filter((f) => !ADVANCED.includes(f.name as string)), { type: 'expandable', name: SECTION, required: true, expanded: false, schema: inSection }];
}

/** voluptuous against the serialized schema: unknown keys, types, required fields; {path: message}. */
function validate(schema: Json[], input: unknown, prefix = ''): { data: Json; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const data: Json = {};
  if (!input || typeof input !== 'object' || Array.isArray(input)) return { data, errors: { [prefix || 'base']: 'expected a dictionary' } };
  const given = input as Json;
  const names = new Set(schema.map((f) => f.name as string));
  for (const key of Object.keys(given)) if (!names.has(key)) errors[prefix + key] = 'extra keys not allowed';
  for (const f of schema) {
    const name = f.name as string;
    const value = given[name];
    if (f.type === 'expandable') {
      const nested = validate(f.schema as Json[], value ?? {}, `${prefix}${name}.`);
      Object.assign(errors, nested.errors);
      Object.assign(data, nested.data);
      continue;
    }
    if (value === undefined) {
      if (f.default !== undefined) data[name] = f.default;
      else if (f.required) errors[prefix + name] = 'required key not provided';
      continue;
    }
    const ok =
      f.type === 'string' ? typeof value === 'string'
      : f.type === 'float' ? typeof value === 'number' && value > 0
      : f.type === 'boolean' ? typeof value === 'boolean'
      : f.type === 'select' ? (f.options as [string, string][]).some(([v]) => v === value)
      : true;
    if (!ok) errors[prefix + name] = f.type === 'float' ? 'expected float' : `expected ${String(f.type)}`;
    else data[name] = value;
  }
  return { data, errors };
}

export class ConfigFlowApi {
  readonly entries = new Map<string, PeerEntry>();
  readonly registry: RegistryEntity[] = [];
  /** Every request: method, path (without the /core prefix) and JSON body, in order. */
  readonly requests: { method: string; path: string; body: unknown }[] = [];
  private readonly flows = new Map<string, Flow>();
  options: ConfigFlowOptions = { layout: 'sections', confirmStep: 'user_confirm', checkStream: async () => null };

  constructor(
    private readonly adminToken: string,
    /** A valid token of a user who is no admin: config flows refuse it. */
    private readonly userToken: string,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://peer');
    const path = url.pathname.replace(/^\/core(?=\/api\/)/, '');
    const body = await readJson(req);
    this.requests.push({ method: req.method ?? '', path, body: body.value });
    const send = (status: number, payload: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    };
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    // aiohttp's 401 is plain text.
    if (auth !== this.adminToken && auth !== this.userToken) return void res.writeHead(401, { 'content-type': 'text/plain' }).end('401: Unauthorized');
    if (!path.startsWith('/api/config/config_entries/')) return send(404, { message: 'Not found' });
    // @require_admin: a non-admin user gets Unauthorized.
    if (auth !== this.adminToken) return void res.writeHead(401, { 'content-type': 'text/plain' }).end('401: Unauthorized');
    if (body.bad) return send(400, { message: 'Invalid JSON.' });

    const flowIndex = /^\/api\/config\/config_entries\/(options\/)?flow$/.exec(path);
    const flowResource = /^\/api\/config\/config_entries\/(options\/)?flow\/([^/]+)$/.exec(path);
    const entry = /^\/api\/config\/config_entries\/entry\/([^/]+)$/.exec(path);
    if (flowIndex && req.method === 'POST') return this.startFlow(flowIndex[1] ? 'options' : 'config', body.value, send);
    if (flowResource) {
      const flow = this.flows.get(flowResource[2]!);
      if (!flow || flow.kind !== (flowResource[1] ? 'options' : 'config')) return send(404, { message: 'Invalid flow specified' });
      if (req.method === 'GET') return send(200, this.form(flow, {}));
      if (req.method === 'DELETE') {
        this.flows.delete(flow.flow_id);
        return send(200, { message: 'Flow aborted' });
      }
      if (req.method === 'POST') return this.step(flow, body.value, send);
    }
    if (entry && req.method === 'DELETE') {
      const id = entry[1]!;
      if (!this.entries.delete(id)) return send(404, { message: 'Invalid entry specified' });
      for (let i = this.registry.length - 1; i >= 0; i--) if (this.registry[i]!.config_entry_id === id) this.registry.splice(i, 1);
      return send(200, { require_restart: false });
    }
    if (path === '/api/config/config_entries/entry' && req.method === 'GET') return send(200, [...this.entries.values()].map((e) => ({ entry_id: e.entry_id, domain: e.domain, title: e.title })));
    return send(405, { message: 'Method not allowed' });
  }

  private startFlow(kind: Flow['kind'], body: unknown, send: (s: number, p: unknown) => void): void {
    const b = body as Json | null;
    if (!b || typeof b !== 'object' || typeof b.handler !== 'string') return send(400, { message: "Message format incorrect: required key not provided @ data['handler']" });
    if (kind === 'config' && b.handler !== 'generic') return send(404, { message: 'Invalid handler specified' });
    if (kind === 'options' && !this.entries.has(b.handler)) return send(404, { message: 'Invalid handler specified' });
    const flow: Flow = { flow_id: randomUUID().replace(/-/g, ''), kind, handler: b.handler, step_id: kind === 'config' ? 'user' : 'init', pending: null };
    this.flows.set(flow.flow_id, flow);
    send(200, this.form(flow, {}));
  }

  private form(flow: Flow, errors: Record<string, string>, defaults: Json = {}): Json {
    const confirm = flow.step_id === this.options.confirmStep;
    const current = flow.kind === 'options' ? { ...this.entries.get(flow.handler)?.options, ...defaults } : defaults;
    return {
      type: 'form',
      flow_id: flow.flow_id,
      handler: flow.handler,
      step_id: flow.step_id,
      data_schema: confirm ? [{ type: 'boolean', name: 'confirmed_ok', required: true, default: false }] : userSchema(this.options.layout, current),
      errors,
      description_placeholders: confirm ? { preview_url: `/api/generic/preview_flow_image/${flow.flow_id}?t=${Date.now()}` } : null,
      last_step: null,
      preview: confirm ? 'generic_camera' : null,
    };
  }

  private async step(flow: Flow, input: unknown, send: (s: number, p: unknown) => void): Promise<void> {
    if (flow.step_id === this.options.confirmStep) {
      const { data, errors } = validate([{ type: 'boolean', name: 'confirmed_ok', required: true, default: false }], input);
      if (Object.keys(errors).length) return send(400, { errors });
      if (data.confirmed_ok !== true) {
        flow.step_id = flow.kind === 'config' ? 'user' : 'init';
        return send(200, this.form(flow, {}, flow.pending ?? {}));
      }
      return send(200, this.finish(flow));
    }
    const { data, errors } = validate(userSchema(this.options.layout), input);
    if (Object.keys(errors).length) return send(400, { errors });
    const stepErrors: Record<string, string> = {};
    const still = data.still_image_url as string | undefined;
    const stream = data.stream_source as string | undefined;
    if (!still && !stream) stepErrors.base = 'no_still_image_or_stream_url';
    if (still) {
      const problem = await fetchStill(still);
      if (problem) stepErrors.still_image_url = problem;
    }
    if (stream && !stepErrors.base) {
      const problem = /^[a-z][a-z0-9+.-]*:\/\//i.test(stream) ? await this.options.checkStream(stream) : 'malformed_url';
      if (problem) stepErrors.stream_source = problem;
    }
    if (Object.keys(stepErrors).length) return send(200, this.form(flow, stepErrors, data));
    flow.pending = { ...data, content_type: 'image/jpeg' };
    flow.step_id = this.options.confirmStep;
    send(200, this.form(flow, {}));
  }

  private finish(flow: Flow): Json {
    this.flows.delete(flow.flow_id);
    const options = flow.pending ?? {};
    if (flow.kind === 'options') {
      const entry = this.entries.get(flow.handler)!;
      entry.options = options;
      return { type: 'create_entry', flow_id: flow.flow_id, handler: flow.handler, title: '', data: options, result: true, version: 1, minor_version: 1, description: null, description_placeholders: null };
    }
    // The generic camera's title is the URL's host, slugged.
    const url = String(options.stream_source ?? options.still_image_url);
    const title = new URL(url).hostname.replace(/[^a-z0-9]+/gi, '_').toLowerCase();
    const entry: PeerEntry = { entry_id: randomUUID().replace(/-/g, '').slice(0, 26).toUpperCase(), domain: 'generic', title, options };
    this.entries.set(entry.entry_id, entry);
    const base = `camera.${title}`;
    let entityId = base;
    for (let n = 2; this.registry.some((e) => e.entity_id === entityId); n++) entityId = `${base}_${n}`;
    this.registry.push({ entity_id: entityId, config_entry_id: entry.entry_id, platform: 'generic', unique_id: entry.entry_id, name: null });
    return {
      type: 'create_entry',
      flow_id: flow.flow_id,
      handler: 'generic',
      title,
      version: 1,
      minor_version: 1,
      description: null,
      description_placeholders: null,
      result: { entry_id: entry.entry_id, domain: 'generic', title, source: 'user', state: 'loaded', supports_options: true, disabled_by: null },
      options,
    };
  }

  /** config/entity_registry/update: rename; an id already taken is refused as HA does. */
  updateEntity(msg: Json): { ok: true; result: Json } | { ok: false; code: string; message: string } {
    const entity = this.registry.find((e) => e.entity_id === msg.entity_id);
    if (!entity) return { ok: false, code: 'not_found', message: 'Entity not found' };
    if (typeof msg.new_entity_id === 'string' && msg.new_entity_id !== entity.entity_id) {
      if (this.registry.some((e) => e.entity_id === msg.new_entity_id)) return { ok: false, code: 'invalid_info', message: 'Entity with this ID is already registered' };
      entity.entity_id = msg.new_entity_id;
    }
    if (typeof msg.name === 'string' || msg.name === null) entity.name = msg.name;
    return { ok: true, result: { entity_entry: { ...entity } } };
  }
}

async function readJson(req: IncomingMessage): Promise<{ value: unknown; bad: boolean }> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return { value: undefined, bad: false };
  try {
    return { value: JSON.parse(text) as unknown, bad: false };
  } catch {
    return { value: undefined, bad: true };
  }
}

/** generic/config_flow.py async_test_still: fetch it, expect an image. */
async function fetchStill(url: string): Promise<string | null> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(20_000) });
  } catch {
    return 'unable_still_load';
  }
  if (res.status === 401) return 'unable_still_load_auth';
  if (res.status === 404) return 'unable_still_load_not_found';
  if (res.status >= 500) return 'unable_still_load_server_error';
  if (!res.ok) return 'unable_still_load';
  const bytes = Buffer.from(await res.arrayBuffer());
  if (bytes.length === 0) return 'unable_still_load_no_image';
  return (res.headers.get('content-type') ?? '').startsWith('image/') && bytes[0] === 0xff && bytes[1] === 0xd8 ? null : 'invalid_still_image';
}

// A Home Assistant websocket API peer that follows the published protocol message by message
// (developers.home-assistant.io docs/api/websocket.md): auth_required → auth → auth_ok/auth_invalid,
// id-numbered commands answered by `result` (ids must increase), supported_features (coalesced
// arrays once the client asks), subscribe_events / unsubscribe_events, subscribe_entities with the
// compressed a/c/r diffs, get_states, fire_event, call_service (light.* changes the entity and
// notifies subscribers; persistent_notification.* is recorded), ping/pong, and Lovelace resources
// (lovelace/info, lovelace/resources and, in storage resource mode only, …/create, /update, /delete,
// as core lovelace/__init__.py registers them), the entity and device registry lists the frontend
// loads (config/entity_registry/list_for_display, config/device_registry/list), the entity registry
// an integration reads and edits (config/entity_registry/list, update), the full entries a card
// asks for (config/entity_registry/get_entries), service calls the test
// declares (recorded, answered, no state change: an MQTT entity waits for its device's state),
// the user list (config/auth/list, admin-only as core's @require_admin makes it),
// camera pictures over HTTP at /api/camera_proxy/<entity_id>?token=<access_token>, and over HTTP
// the config-entry flows (haConfigFlows.ts). Used where a real HA
// Core cannot run; it keeps its entities and notifications across stop()/start(), as HA does.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { ConfigFlowApi } from './haConfigFlows.js';
import { until } from './wait.js';

export interface PeerState {
  entity_id: string;
  state: string;
  attributes: Record<string, unknown>;
  last_changed: string;
  last_updated: string;
  context: { id: string; parent_id: string | null; user_id: string | null };
}

export interface FiredEvent {
  event_type: string;
  data: Record<string, unknown>;
}

export interface LovelaceResource {
  id: string;
  type: 'css' | 'js' | 'module' | 'html';
  url: string;
}

const RESOURCE_TYPES = ['css', 'js', 'module', 'html'];

/** An entity registry entry as list_for_display describes it (before its keys are shortened). */
export interface PeerRegistryEntity {
  entity_id: string;
  device_id?: string;
  name?: string;
  platform?: string;
  hidden?: boolean;
  /** What the integration registered it under (MQTT: the discovery's unique_id); never changes with a rename. */
  unique_id?: string;
}

/** A device registry entry (home-assistant/frontend src/data/device/device_registry.ts fields). */
export interface PeerDevice {
  id: string;
  name: string | null;
  name_by_user: string | null;
  manufacturer: string | null;
  model: string | null;
  disabled_by: string | null;
}

/** A user as config/auth/list answers it (core components/config/auth.py `_user_info`). */
export interface PeerUser {
  id: string;
  username: string | null;
  name: string;
  is_owner: boolean;
  is_active: boolean;
  local_only: boolean;
  system_generated: boolean;
  /** e.g. ['system-admin'] or ['system-users'] (homeassistant/auth/const.py). */
  group_ids: string[];
  credentials: { type: string }[];
}

/** A person with a login, as HA's user settings create one. */
export function peerUser(id: string, name: string, opts: { admin?: boolean; owner?: boolean; active?: boolean } = {}): PeerUser {
  return {
    id,
    username: name.toLowerCase(),
    name,
    is_owner: opts.owner === true,
    is_active: opts.active !== false,
    local_only: false,
    system_generated: false,
    group_ids: [opts.admin || opts.owner ? 'system-admin' : 'system-users'],
    credentials: [{ type: 'homeassistant' }],
  };
}

export interface ServiceCall {
  domain: string;
  service: string;
  service_data: Record<string, unknown>;
  target: Record<string, unknown> | undefined;
}

type Subscription = { kind: 'events'; eventType: string | null } | { kind: 'entities'; entityIds: string[] | null };

interface Client {
  ws: WebSocket;
  authed: boolean;
  coalesce: boolean;
  lastId: number;
  subs: Map<number, Subscription>;
  queue: unknown[];
}

type Msg = Record<string, unknown>;

const epoch = (iso: string) => Date.parse(iso) / 1000;

export class HaPeer extends EventEmitter {
  readonly fired: FiredEvent[] = [];
  readonly serviceCalls: ServiceCall[] = [];
  readonly notifications = new Map<string, { title: string | null; message: string }>();
  readonly states = new Map<string, PeerState>();
  /** Every message a client sent, in order (what the test can check the wire against). */
  readonly received: Msg[] = [];
  authFailures = 0;
  /** false: ping goes unanswered, as over a link that died without closing. */
  answerPings = true;
  connections = 0;
  /** Dashboard resources (survive stop()/start(), as HA's .storage/lovelace_resources does). */
  readonly resources: LovelaceResource[] = [];
  /** `yaml`: resources come from configuration.yaml; the CRUD commands do not exist. */
  resourceMode: 'storage' | 'yaml' = 'storage';
  /** false: an HA from before lovelace/info (unknown_command). */
  hasLovelaceInfo = true;
  readonly entityRegistry: PeerRegistryEntity[] = [];
  readonly deviceRegistry: PeerDevice[] = [];
  /** `domain.service` pairs that exist besides light.* and persistent_notification.*. */
  readonly services = new Set<string>();
  /** JPEG (or any image) per camera entity, served at /api/camera_proxy/<entity_id>. */
  readonly pictures = new Map<string, Buffer>();
  /** HA's users (config/auth/list); the Supervisor's own system user is always among them. */
  readonly users: PeerUser[] = [
    { id: 'peer-supervisor', username: null, name: 'Supervisor', is_owner: false, is_active: true, local_only: false, system_generated: true, group_ids: ['system-admin'], credentials: [] },
  ];
  /** false: the websocket's token belongs to a user who is not an administrator (admin-only commands answer `unauthorized`). */
  tokenIsAdmin = true;
  /** Path of the last websocket upgrade (e.g. /core/websocket, /api/websocket). */
  lastPath = '';
  private server: Server | null = null;
  private wss: WebSocketServer | null = null;
  private readonly clients = new Set<Client>();
  private port = 0;
  /** Config entries, their flows and the entity registry (REST at /api and /core/api). */
  readonly flows: ConfigFlowApi;

  constructor(
    readonly token: string,
    readonly haVersion = '2026.11.1',
    /** A token of a user who is not an admin (refused by admin-only views). */
    readonly userToken = 'peer-user-token',
  ) {
    super();
    this.flows = new ConfigFlowApi(token, userToken);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get clientCount(): number {
    return [...this.clients].filter((c) => c.authed).length;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => this.http(req, res));
    const wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => {
      this.lastPath = req.url ?? '';
      wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    this.wss = wss;
  }

  /** Drops every client and stops listening (as HA does when it restarts); state is kept. */
  async stop(): Promise<void> {
    for (const c of this.clients) c.ws.terminate();
    this.clients.clear();
    this.wss?.close();
    const server = this.server;
    this.server = null;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  /** core camera CameraImageView: the token must be the entity's current access_token. */
  private http(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://peer');
    const match = /^\/api\/camera_proxy\/([a-z_]+\.[a-z0-9_]+)$/.exec(url.pathname);
    const picture = match ? this.pictures.get(match[1]!) : undefined;
    if (!match) return void this.flows.handle(req, res);
    if (!picture) return void res.writeHead(404).end();
    if (url.searchParams.get('token') !== this.states.get(match[1]!)?.attributes.access_token) return void res.writeHead(401).end('401: Unauthorized');
    res.writeHead(200, { 'content-type': 'image/jpeg', 'cache-control': 'no-store' }).end(picture);
  }

  /** A change made inside HA (a user switching the light in the HA UI). */
  setState(entityId: string, state: string, attributes: Record<string, unknown> = {}): void {
    const now = new Date().toISOString();
    const old = this.states.get(entityId);
    const next: PeerState = {
      entity_id: entityId,
      state,
      attributes: { ...(old?.attributes ?? {}), ...attributes },
      last_changed: old && old.state === state ? old.last_changed : now,
      last_updated: now,
      context: { id: randomUUID().replace(/-/g, ''), parent_id: null, user_id: null },
    };
    this.states.set(entityId, next);
    for (const c of this.clients) {
      for (const [id, sub] of c.subs) {
        if (sub.kind === 'entities' && (!sub.entityIds || sub.entityIds.includes(entityId))) {
          this.send(c, { id, type: 'event', event: old ? { c: { [entityId]: { '+': this.diff(old, next) } } } : { a: { [entityId]: this.compressed(next) } } });
        }
      }
    }
    this.fire('state_changed', { entity_id: entityId, old_state: old ?? null, new_state: next }, next.context);
  }

  /** Resolves with what `pred` returns once it holds. */
  waitFor<T>(pred: () => T | undefined | false, ms = 10_000): Promise<T> {
    return until('a condition on the Home Assistant peer', pred, ms);
  }

  private accept(ws: WebSocket): void {
    const c: Client = { ws, authed: false, coalesce: false, lastId: 0, subs: new Map(), queue: [] };
    this.clients.add(c);
    this.connections++;
    ws.on('close', () => this.clients.delete(c));
    ws.on('message', (data) => this.onMessage(c, String(data)));
    this.send(c, { type: 'auth_required', ha_version: this.haVersion });
  }

  private onMessage(c: Client, text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      // HA drops a connection that sends something that is not JSON.
      c.ws.close(1003);
      return;
    }
    if (!msg || typeof msg !== 'object' || Array.isArray(msg)) {
      if (!c.authed) return this.rejectAuth(c, 'Auth message incorrectly formatted');
      return this.send(c, { id: null, type: 'result', success: false, error: { code: 'invalid_format', message: 'Message incorrectly formatted.' } });
    }
    const m = msg as Msg;
    this.received.push(m);
    if (!c.authed) {
      if (m.type !== 'auth' || typeof m.access_token !== 'string') return this.rejectAuth(c, 'Auth message incorrectly formatted');
      if (m.access_token !== this.token) return this.rejectAuth(c, 'Invalid access token or password');
      c.authed = true;
      this.send(c, { type: 'auth_ok', ha_version: this.haVersion });
      this.emit('auth', true);
      return;
    }
    const id = m.id;
    if (typeof id !== 'number' || !Number.isInteger(id) || typeof m.type !== 'string') {
      return this.send(c, { id: typeof id === 'number' ? id : null, type: 'result', success: false, error: { code: 'invalid_format', message: 'Message incorrectly formatted: expected int for dictionary value @ data[\'id\']' } });
    }
    if (id <= c.lastId) return this.error(c, id, 'id_reuse', 'Identifier values have to increase.');
    c.lastId = id;
    this.command(c, id, m);
    this.emit('message', m);
  }

  private rejectAuth(c: Client, message: string): void {
    this.authFailures++;
    this.send(c, { type: 'auth_invalid', message });
    this.emit('auth', false);
    setImmediate(() => c.ws.close());
  }

  private command(c: Client, id: number, m: Msg): void {
    switch (m.type) {
      case 'supported_features':
        c.coalesce = (m.features as Msg | undefined)?.coalesce_messages === 1;
        return this.result(c, id, null);
      case 'ping':
        if (!this.answerPings) return;
        return this.send(c, { id, type: 'pong' });
      case 'get_states':
        return this.result(c, id, [...this.states.values()]);
      case 'subscribe_events':
        c.subs.set(id, { kind: 'events', eventType: typeof m.event_type === 'string' ? m.event_type : null });
        return this.result(c, id, null);
      case 'subscribe_entities': {
        const ids = Array.isArray(m.entity_ids) ? (m.entity_ids as string[]) : null;
        c.subs.set(id, { kind: 'entities', entityIds: ids });
        this.result(c, id, null);
        const a = Object.fromEntries([...this.states.values()].filter((s) => !ids || ids.includes(s.entity_id)).map((s) => [s.entity_id, this.compressed(s)]));
        return this.send(c, { id, type: 'event', event: { a } });
      }
      case 'unsubscribe_events':
        if (typeof m.subscription !== 'number' || !c.subs.delete(m.subscription)) return this.error(c, id, 'not_found', 'Subscription not found.');
        return this.result(c, id, null);
      case 'fire_event': {
        if (typeof m.event_type !== 'string' || !m.event_type) return this.error(c, id, 'invalid_format', "required key not provided @ data['event_type']");
        if (m.event_data !== undefined && (typeof m.event_data !== 'object' || m.event_data === null || Array.isArray(m.event_data))) return this.error(c, id, 'invalid_format', "expected dict for dictionary value @ data['event_data']");
        const context = { id: randomUUID().replace(/-/g, ''), parent_id: null, user_id: 'switchboard-user' };
        const data = (m.event_data ?? {}) as Record<string, unknown>;
        this.fired.push({ event_type: m.event_type, data });
        this.fire(m.event_type, data, context);
        return this.result(c, id, { context });
      }
      case 'call_service':
        return this.callService(c, id, m);
      case 'config/entity_registry/list_for_display':
        // core entity_registry.py websocket_list_entities_for_display: shortened keys.
        return this.result(c, id, {
          entity_categories: { 0: 'config', 1: 'diagnostic' },
          entities: this.entityRegistry.map((e) => ({ ei: e.entity_id, lb: [], ...(e.device_id ? { di: e.device_id } : {}), ...(e.name ? { en: e.name } : {}), ...(e.platform ? { pl: e.platform } : {}), ...(e.hidden ? { hb: true } : {}) })),
        });
      case 'config/device_registry/list':
        return this.result(c, id, this.deviceRegistry.map((d) => ({ ...d })));
      case 'lovelace/info':
        if (!this.hasLovelaceInfo) return this.error(c, id, 'unknown_command', 'Unknown command.');
        return this.result(c, id, { resource_mode: this.resourceMode });
      case 'lovelace/resources':
        return this.result(c, id, this.resources.map((r) => ({ ...r })));
      case 'lovelace/resources/create':
      case 'lovelace/resources/update':
      case 'lovelace/resources/delete':
        if (this.resourceMode === 'yaml') return this.error(c, id, 'unknown_command', 'Unknown command.');
        return this.resourceCommand(c, id, m);
      case 'config/auth/list':
        // websocket_api.require_admin: Unauthorized(...) → error code `unauthorized`.
        if (!this.tokenIsAdmin) return this.error(c, id, 'unauthorized', 'Unauthorized');
        return this.result(c, id, this.users.map((u) => ({ ...u, group_ids: [...u.group_ids], credentials: u.credentials.map((cr) => ({ ...cr })) })));
      case 'config/entity_registry/get_entries': {
        // core entity_registry.py websocket_get_entities: {entity_id: extended entry or null}.
        const ids = m.entity_ids;
        if (!Array.isArray(ids) || !ids.every((e) => typeof e === 'string' && /^[a-z0-9_]+\.[a-z0-9_]+$/.test(e))) return this.error(c, id, 'invalid_format', "Entity IDs are invalid for dictionary value @ data['entity_ids']");
        return this.result(c, id, Object.fromEntries((ids as string[]).map((e) => [e, this.registryEntry(e)])));
      }
      case 'config/entity_registry/list':
        return this.result(c, id, this.flows.registry.map((e) => ({ ...e })));
      case 'config/entity_registry/update': {
        const r = this.flows.updateEntity(m);
        return r.ok ? this.result(c, id, r.result) : this.error(c, id, r.code, r.message);
      }
      default:
        return this.error(c, id, 'unknown_command', 'Unknown command.');
    }
  }

  /** An entity's extended registry entry (frontend data/entity/entity_registry.ts ExtEntityRegistryEntry), or null. */
  private registryEntry(entityId: string): Msg | null {
    const shown = this.entityRegistry.find((e) => e.entity_id === entityId);
    if (shown) {
      return {
        id: `reg-${shown.unique_id ?? shown.entity_id}`,
        entity_id: shown.entity_id,
        unique_id: shown.unique_id ?? shown.entity_id,
        platform: shown.platform ?? 'mqtt',
        device_id: shown.device_id ?? null,
        config_entry_id: null,
        area_id: null,
        name: null,
        original_name: shown.name ?? null,
        icon: null,
        disabled_by: null,
        hidden_by: shown.hidden ? 'user' : null,
        entity_category: null,
        has_entity_name: true,
        labels: [],
        options: {},
        capabilities: null,
        device_class: null,
        original_device_class: null,
        original_icon: null,
        aliases: [],
      };
    }
    const flow = this.flows.registry.find((e) => e.entity_id === entityId);
    return flow ? { ...flow, id: `reg-${flow.unique_id}`, device_id: null, labels: [], options: {}, aliases: [] } : null;
  }

  private callService(c: Client, id: number, m: Msg): void {
    if (typeof m.domain !== 'string' || typeof m.service !== 'string') return this.error(c, id, 'invalid_format', "required key not provided @ data['domain']");
    const data = (m.service_data ?? {}) as Record<string, unknown>;
    const target = m.target as Record<string, unknown> | undefined;
    const call: ServiceCall = { domain: m.domain, service: m.service, service_data: data, target };
    const context = { id: randomUUID().replace(/-/g, ''), parent_id: null, user_id: 'switchboard-user' };
    const key = `${m.domain}.${m.service}`;
    if (m.domain === 'light' && ['turn_on', 'turn_off', 'toggle'].includes(m.service)) {
      const raw = target?.entity_id ?? data.entity_id;
      const ids = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
      this.serviceCalls.push(call);
      for (const e of ids) {
        const current = this.states.get(String(e));
        if (!current) continue; // HA logs "Referenced entities … are missing" and still succeeds.
        const on = m.service === 'toggle' ? current.state !== 'on' : m.service === 'turn_on';
        // A dimmable light (color mode "brightness") keeps `brightness` 0–255, null while off; brightness_pct sets it.
        const modes = current.attributes.supported_color_modes;
        const dimmable = Array.isArray(modes) && modes.includes('brightness');
        const pct = typeof data.brightness_pct === 'number' ? data.brightness_pct : null;
        const brightness = !on ? null : pct !== null ? Math.round((pct * 255) / 100) : ((current.attributes.brightness as number | null | undefined) ?? 255);
        this.setState(String(e), on ? 'on' : 'off', dimmable ? { brightness, color_mode: on ? 'brightness' : null } : {});
      }
    } else if (key === 'persistent_notification.create') {
      if (typeof data.message !== 'string') return this.error(c, id, 'invalid_format', "required key not provided @ data['message']");
      this.serviceCalls.push(call);
      const nid = typeof data.notification_id === 'string' ? data.notification_id : randomUUID();
      this.notifications.set(nid, { title: typeof data.title === 'string' ? data.title : null, message: data.message });
    } else if (key === 'persistent_notification.dismiss') {
      if (typeof data.notification_id !== 'string') return this.error(c, id, 'invalid_format', "required key not provided @ data['notification_id']");
      this.serviceCalls.push(call);
      this.notifications.delete(data.notification_id);
    } else if (key === 'persistent_notification.dismiss_all') {
      this.serviceCalls.push(call);
      this.notifications.clear();
    } else if (this.services.has(key)) {
      this.serviceCalls.push(call);
    } else {
      return this.error(c, id, 'not_found', `Service ${key} not found.`);
    }
    this.result(c, id, { context, response: null });
    this.emit('call', call);
  }

  /** StorageCollectionWebsocket: voluptuous schema errors are invalid_format, unknown ids not_found. */
  private resourceCommand(c: Client, id: number, m: Msg): void {
    const op = String(m.type).split('/')[2];
    if (op === 'create') {
      if (typeof m.res_type !== 'string' || !RESOURCE_TYPES.includes(m.res_type)) return this.error(c, id, 'invalid_format', `value must be one of ['css', 'html', 'js', 'module'] for dictionary value @ data['res_type']`);
      if (typeof m.url !== 'string' || !m.url) return this.error(c, id, 'invalid_format', "required key not provided @ data['url']");
      const item: LovelaceResource = { id: randomUUID().replace(/-/g, ''), type: m.res_type as LovelaceResource['type'], url: m.url };
      this.resources.push(item);
      return this.result(c, id, { ...item });
    }
    const index = this.resources.findIndex((r) => r.id === m.resource_id);
    if (index < 0) return this.error(c, id, 'not_found', `Unable to find resource_id ${String(m.resource_id)}`);
    if (op === 'delete') {
      this.resources.splice(index, 1);
      return this.result(c, id, null);
    }
    if (m.res_type !== undefined && (typeof m.res_type !== 'string' || !RESOURCE_TYPES.includes(m.res_type))) return this.error(c, id, 'invalid_format', `value must be one of ['css', 'html', 'js', 'module'] for dictionary value @ data['res_type']`);
    if (m.url !== undefined && (typeof m.url !== 'string' || !m.url)) return this.error(c, id, 'invalid_format', "expected str for dictionary value @ data['url']");
    const item = this.resources[index]!;
    if (typeof m.res_type === 'string') item.type = m.res_type as LovelaceResource['type'];
    if (typeof m.url === 'string') item.url = m.url;
    return this.result(c, id, { ...item });
  }

  private fire(eventType: string, data: Record<string, unknown>, context: PeerState['context']): void {
    const event = { event_type: eventType, data, origin: 'LOCAL', time_fired: new Date().toISOString(), context };
    for (const c of this.clients) {
      for (const [id, sub] of c.subs) {
        if (sub.kind === 'events' && (sub.eventType === null || sub.eventType === eventType)) this.send(c, { id, type: 'event', event });
      }
    }
  }

  /** The compressed state subscribe_entities sends (homeassistant/core/state.py as_compressed_state). */
  private compressed(s: PeerState): Msg {
    const out: Msg = { s: s.state, a: s.attributes, c: s.context.id, lc: epoch(s.last_changed) };
    if (s.last_updated !== s.last_changed) out.lu = epoch(s.last_updated);
    return out;
  }

  private diff(old: PeerState, next: PeerState): Msg {
    const plus: Msg = { c: next.context.id };
    if (old.state !== next.state) plus.s = next.state;
    if (next.last_changed !== old.last_changed) plus.lc = epoch(next.last_changed);
    else plus.lu = epoch(next.last_updated);
    const changed = Object.fromEntries(Object.entries(next.attributes).filter(([k, v]) => JSON.stringify(old.attributes[k]) !== JSON.stringify(v)));
    if (Object.keys(changed).length) plus.a = changed;
    return plus;
  }

  private result(c: Client, id: number, result: unknown): void {
    this.send(c, { id, type: 'result', success: true, result });
  }

  private error(c: Client, id: number, code: string, message: string): void {
    this.send(c, { id, type: 'result', success: false, error: { code, message } });
  }

  /** Messages queued in one tick go out as one JSON array once the client enabled coalescing. */
  private send(c: Client, msg: unknown): void {
    if (!c.coalesce) {
      if (c.ws.readyState === c.ws.OPEN) c.ws.send(JSON.stringify(msg));
      return;
    }
    c.queue.push(msg);
    if (c.queue.length > 1) return;
    setImmediate(() => {
      const batch = c.queue.splice(0);
      if (c.ws.readyState !== c.ws.OPEN || batch.length === 0) return;
      c.ws.send(JSON.stringify(batch.length === 1 ? batch[0] : batch));
    });
  }
}

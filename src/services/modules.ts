// The L.C.R.U.D. contract every module service implements, and the one dispatcher that both the
// HTTP API and the NestMTX `request` event call. Request-shape rules (entity required, payload
// required, list defaults, unknown modules) live here, once.
import { z } from 'zod';
import type { Actor } from '../auth/records.js';
import { AppError, malformed, notFound, unavailable, validationError } from '../core/errors.js';
import { assertSafeInput, parseInput } from '../core/validation.js';

export const COMMANDS = ['list', 'create', 'read', 'update', 'delete'] as const;
export type Command = (typeof COMMANDS)[number];

/** Modules the APIs know by name; those whose service is not registered answer "not available". */
export const KNOWN_MODULES = ['users', 'cameras', 'credentials', 'monitors', 'labs', 'health', 'version'] as const;

export interface SortBy {
  key: string;
  order: 'asc' | 'desc';
}

export interface ListQuery {
  search: string | null;
  page: number;
  itemsPerPage: number;
  sortBy: SortBy[];
}

export interface ListResult<T> extends ListQuery {
  total: number;
  items: T[];
}

export interface ModuleService {
  readonly name: string;
  /** Usually a ListResult; singleton modules (health, version) answer their one object. */
  list?(actor: Actor, query: ListQuery): Promise<unknown>;
  create?(actor: Actor, payload: unknown): Promise<unknown>;
  read?(actor: Actor, id: string): Promise<unknown>;
  update?(actor: Actor, id: string, payload: unknown): Promise<unknown>;
  delete?(actor: Actor, id: string): Promise<unknown>;
}

const sortEntry = z
  .object({ key: z.string().min(1).max(64), order: z.enum(['asc', 'desc']).default('asc') })
  .strict();

/** sortBy as the NestMTX UI sends it ([{key, order}]) or as a query string ("name", "-name", "name:desc"). */
const sortBySchema = z.preprocess((v) => {
  if (typeof v === 'string') {
    return v
      .split(',')
      .filter(Boolean)
      .map((s) => {
        const [k, o] = s.split(':');
        if (k!.startsWith('-')) return { key: k!.slice(1), order: 'desc' };
        return { key: k, order: o ?? 'asc' };
      });
  }
  if (v && typeof v === 'object' && !Array.isArray(v)) return [v];
  return v;
}, z.array(sortEntry).max(5));

export const listQuerySchema = z
  .object({
    search: z.string().max(200).nullable().default(null),
    page: z.coerce.number().int().min(1).max(1_000_000).default(1),
    itemsPerPage: z.coerce.number().int().min(-1).max(1000).default(10),
    sortBy: sortBySchema.default([]),
  })
  .strict();

export function parseListQuery(input: unknown): ListQuery {
  // The common case (no query at all) skips the schema: it is on every list request's hot path.
  if (input === undefined || input === null) return { search: null, page: 1, itemsPerPage: 10, sortBy: [] };
  return parseInput(listQuerySchema, input, 'payload', 'Invalid list query') as ListQuery;
}

/**
 * Applies search, sort and paging to an in-memory list. `searchIn` names the fields a search looks
 * at; `sortable` the keys that may be sorted on (anything else is a validation error, not ignored).
 * itemsPerPage -1 means all (as Vuetify tables ask).
 */
export function paginate<T extends object>(items: readonly T[], query: ListQuery, searchIn: (keyof T & string)[], sortable: (keyof T & string)[]): ListResult<T> {
  for (const [i, s] of query.sortBy.entries()) {
    if (!sortable.includes(s.key as keyof T & string)) {
      throw validationError('Invalid list query', [{ path: `payload.sortBy.${i}.key`, message: `cannot sort by "${s.key}"; sortable: ${sortable.join(', ')}` }]);
    }
  }
  let rows = items.slice();
  if (query.search) {
    const needle = query.search.toLowerCase();
    rows = rows.filter((r) => searchIn.some((k) => String(r[k] ?? '').toLowerCase().includes(needle)));
  }
  if (query.sortBy.length) {
    rows.sort((a, b) => {
      for (const s of query.sortBy) {
        const av = (a as Record<string, unknown>)[s.key];
        const bv = (b as Record<string, unknown>)[s.key];
        const c = compare(av, bv);
        if (c !== 0) return s.order === 'desc' ? -c : c;
      }
      return 0;
    });
  }
  const total = rows.length;
  const paged = query.itemsPerPage === -1 ? rows : rows.slice((query.page - 1) * query.itemsPerPage, query.page * query.itemsPerPage);
  // Spelled out, not `{...query, …}`: V8 builds a spread plus extra keys on a slow path (~10 µs,
  // and a reply object that socket.io then walks slowly) on every list request.
  return { search: query.search, page: query.page, itemsPerPage: query.itemsPerPage, sortBy: query.sortBy, total, items: paged };
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === undefined || a === null) return 1;
  if (b === undefined || b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return String(a).localeCompare(String(b));
}

export interface ModuleRequest {
  command: unknown;
  module: unknown;
  entity?: unknown;
  payload?: unknown;
}

export class ModuleRegistry {
  private readonly services = new Map<string, ModuleService>();

  register(service: ModuleService): void {
    if (this.services.has(service.name)) throw new Error(`module ${service.name} registered twice`);
    this.services.set(service.name, service);
  }

  has(name: string): boolean {
    return this.services.has(name);
  }

  get names(): string[] {
    return [...this.services.keys()];
  }

  /** Validates the request's shape, then calls the module. Throws AppError. */
  async dispatch(actor: Actor, req: ModuleRequest): Promise<unknown> {
    const { command, module, entity, payload } = req;
    const problems = [];
    if (typeof command !== 'string' || !(COMMANDS as readonly string[]).includes(command)) {
      problems.push({ path: 'command', message: `must be one of ${COMMANDS.join(', ')}` });
    }
    if (typeof module !== 'string' || !module) problems.push({ path: 'module', message: 'must be a module name' });
    if (problems.length) throw validationError('Invalid Request', problems);
    const cmd = command as Command;
    const name = module as string;
    const service = this.services.get(name);
    if (!service) {
      if ((KNOWN_MODULES as readonly string[]).includes(name)) throw unavailable(`Module ${name} not available`);
      throw notFound(`Module ${name}`);
    }
    const needsEntity = cmd === 'read' || cmd === 'update' || cmd === 'delete';
    const needsPayload = cmd === 'create' || cmd === 'update';
    if (needsEntity && (typeof entity !== 'string' && typeof entity !== 'number' || String(entity).length === 0 || String(entity).length > 128)) {
      throw validationError('Invalid Request', [{ path: 'entity', message: `required for ${cmd}` }]);
    }
    if (needsPayload && (payload === undefined || payload === null)) {
      throw validationError('Invalid Request', [{ path: 'payload', message: `required for ${cmd}` }]);
    }
    if (payload !== undefined) assertSafeInput(payload, 'payload');
    const handler = service[cmd];
    if (!handler) throw new AppError('validation', `Command ${cmd} is not supported by module ${name}`);
    const id = entity === undefined ? '' : String(entity);
    switch (cmd) {
      case 'list':
        if (payload !== undefined && (typeof payload !== 'object' || Array.isArray(payload))) throw malformed('Invalid list query', [{ path: 'payload', message: 'must be an object' }]);
        return service.list!(actor, parseListQuery(payload));
      case 'create':
        return service.create!(actor, payload);
      case 'read':
        return service.read!(actor, id);
      case 'update':
        return service.update!(actor, id, payload);
      case 'delete':
        return service.delete!(actor, id);
    }
  }
}

// Drives a Home Assistant data-entry flow over REST the way HA's frontend does
// (frontend src/data/config_flow.ts, data_entry_flow.ts): start it, then answer each `form` step
// from its returned `data_schema` (expandable sections nested under their name) until HA answers
// `create_entry`; `abort`, field `errors` and any other step type end it with a clear error.
import { AppError, runtimeError, unavailable } from '../../core/errors.js';
import type { HaCoreApi, HaReply } from './haCoreApi.js';

/** A field of a serialized voluptuous schema; `expandable` sections carry their own schema. */
export interface SchemaField {
  name: string;
  type?: string;
  required?: boolean;
  optional?: boolean;
  default?: unknown;
  schema?: SchemaField[];
  [key: string]: unknown;
}

export interface FlowStep {
  type: string;
  flow_id?: string;
  step_id?: string;
  data_schema?: SchemaField[];
  errors?: Record<string, string> | null;
  reason?: string;
  result?: unknown;
  [key: string]: unknown;
}

/** A config flow creates an entry; an options flow changes an existing entry's options. */
export type FlowKind = 'config' | 'options';

const FLOW_PATH: Record<FlowKind, string> = { config: '/config/config_entries/flow', options: '/config/config_entries/options/flow' };
/** The generic camera needs two steps; more than this means the flow is not the one we know. */
const MAX_STEPS = 6;

/**
 * Runs the flow of `handler` (an integration domain, or an entry id for options flows) answering
 * every field by name from `values`; fields with a default and no value are left to HA.
 */
export async function runFlow(api: HaCoreApi, kind: FlowKind, handler: string, values: Record<string, unknown>): Promise<FlowStep> {
  const path = FLOW_PATH[kind];
  let step = await expectStep(await api.request('POST', path, { handler, show_advanced_options: false }), 'start');
  for (let i = 0; i < MAX_STEPS; i++) {
    if (step.type === 'create_entry') return step;
    if (step.type === 'abort') throw runtimeError(`Home Assistant aborted the ${handler} flow: ${step.reason ?? 'no reason given'}`);
    const flowId = step.flow_id;
    if (step.type !== 'form' || !flowId) {
      if (flowId) await api.request('DELETE', `${path}/${flowId}`).catch(() => undefined);
      throw runtimeError(`Home Assistant answered the ${handler} flow with a "${step.type}" step, which Switchboard cannot complete`);
    }
    const problems = Object.entries(step.errors ?? {});
    if (problems.length && i > 0) {
      // HA shows the same form again with field errors: our answer was refused; stop rather than loop.
      await api.request('DELETE', `${path}/${flowId}`).catch(() => undefined);
      throw runtimeError(`Home Assistant refused the ${handler} settings (step ${step.step_id ?? '?'})`, problems.map(([field, code]) => ({ path: field, message: code })));
    }
    let input: Record<string, unknown>;
    try {
      input = formInput(step.data_schema ?? [], values);
    } catch (err) {
      await api.request('DELETE', `${path}/${flowId}`).catch(() => undefined);
      throw err;
    }
    step = await expectStep(await api.request('POST', `${path}/${flowId}`, input), `step ${step.step_id ?? '?'}`);
  }
  throw runtimeError(`The ${handler} flow did not finish within ${MAX_STEPS} steps`);
}

/** The answer to one form: each field from `values`; sections as nested objects under their name. */
export function formInput(schema: SchemaField[], values: Record<string, unknown>): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const field of schema) {
    if (field.type === 'expandable') {
      input[field.name] = formInput(field.schema ?? [], values);
    } else if (values[field.name] !== undefined) {
      input[field.name] = values[field.name];
    } else if (field.required && field.default === undefined) {
      throw runtimeError(`Home Assistant asks for "${field.name}", which Switchboard has no value for`);
    }
  }
  return input;
}

function expectStep(reply: HaReply, what: string): FlowStep {
  const body = reply.body as Record<string, unknown> | null;
  if (reply.status === 200 && body && typeof body === 'object' && typeof body.type === 'string') return body as FlowStep;
  if (reply.status === 400 && body && typeof body === 'object' && body.errors && typeof body.errors === 'object') {
    // Schema failure (voluptuous Invalid): {"errors": {"field": "message"}}.
    throw runtimeError(`Home Assistant rejected the flow input (${what})`, Object.entries(body.errors as Record<string, unknown>).map(([path, message]) => ({ path, message: String(message) })));
  }
  if (reply.status === 401 || reply.status === 403) throw new AppError('runtime', `Home Assistant refused access to config flows (${reply.status}); the token needs an admin user`);
  if (reply.status === 404) throw unavailable(`Home Assistant does not know this flow (${what}): it may have expired or the integration is missing`);
  const message = body && typeof body === 'object' && typeof body.message === 'string' ? body.message : typeof reply.body === 'string' ? reply.body.slice(0, 200) : '';
  throw runtimeError(`Home Assistant answered ${reply.status} (${what})${message ? `: ${message}` : ''}`);
}

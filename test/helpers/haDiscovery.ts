// What Home Assistant requires of a device-based discovery payload: the checks HA's MQTT
// integration makes before it creates an entity, as a list of problems.

const REQUIRED: Record<string, string[]> = {
  binary_sensor: ['state_topic'],
  sensor: ['state_topic'],
  switch: ['command_topic'],
  light: ['command_topic'],
  button: ['command_topic'],
  number: ['command_topic'],
  select: ['command_topic', 'options'],
  text: ['command_topic'],
  camera: ['topic'],
  event: ['state_topic', 'event_types'],
};

// MQTT forbids wildcards in topic names and NUL anywhere.
const TOPIC_OK = (t: string) => t.length > 0 && !/[#+]/.test(t) && !t.includes(String.fromCharCode(0));

export function haProblems(topic: string, payload: unknown): string[] {
  const problems: string[] = [];
  if (!/^[A-Za-z0-9_\-/]+\/device\/[A-Za-z0-9_-]+\/config$/.test(topic)) problems.push(`bad discovery topic ${topic}`);
  if (!payload || typeof payload !== 'object') return [...problems, 'payload is not an object'];
  const p = payload as Record<string, unknown>;
  const dev = p.dev as Record<string, unknown> | undefined;
  if (!dev || !(Array.isArray(dev.identifiers) ? dev.identifiers.length : dev.identifiers)) problems.push('dev needs identifiers');
  if (!dev?.name) problems.push('dev needs a name');
  const o = p.o as Record<string, unknown> | undefined;
  if (!o || typeof o.name !== 'string' || !o.name) problems.push('o (origin) needs a name');
  const cmps = p.cmps as Record<string, Record<string, unknown>> | undefined;
  if (!cmps || typeof cmps !== 'object' || Object.keys(cmps).length === 0) return [...problems, 'cmps missing or empty'];
  const uniqueIds = new Set<string>();
  for (const [key, c] of Object.entries(cmps)) {
    const where = `cmps.${key}`;
    const platform = c.p as string;
    const required = REQUIRED[platform];
    if (!required) {
      problems.push(`${where}: unknown platform ${String(platform)}`);
      continue;
    }
    for (const r of required) if (c[r] === undefined) problems.push(`${where}: ${platform} needs ${r}`);
    if (typeof c.unique_id !== 'string' || !c.unique_id) problems.push(`${where}: needs unique_id`);
    else if (uniqueIds.has(c.unique_id)) problems.push(`${where}: duplicate unique_id ${c.unique_id}`);
    else uniqueIds.add(c.unique_id);
    for (const [k, v] of Object.entries(c)) {
      if (k.endsWith('topic') && (typeof v !== 'string' || !TOPIC_OK(v))) problems.push(`${where}: ${k} is not a publishable topic`);
    }
    const avty = c.availability;
    if (!Array.isArray(avty) || avty.length === 0 || avty.some((a: { topic?: unknown }) => typeof a.topic !== 'string')) problems.push(`${where}: needs availability`);
    if (c.availability_topic !== undefined && c.availability !== undefined) problems.push(`${where}: availability and availability_topic together`);
    if (platform === 'select' && (!Array.isArray(c.options) || c.options.length === 0)) problems.push(`${where}: select needs options`);
    if (platform === 'event' && (!Array.isArray(c.event_types) || c.event_types.length === 0)) problems.push(`${where}: event needs event_types`);
    if (platform === 'number' && (typeof c.min !== 'number' || typeof c.max !== 'number')) problems.push(`${where}: number needs min and max`);
    // HA's default light schema: brightness_scale a positive integer, on_command_type one of its three.
    if (platform === 'light' && c.brightness_scale !== undefined && !(Number.isInteger(c.brightness_scale) && (c.brightness_scale as number) >= 1)) problems.push(`${where}: brightness_scale must be a positive integer`);
    if (platform === 'light' && c.on_command_type !== undefined && !['last', 'first', 'brightness'].includes(c.on_command_type as string)) problems.push(`${where}: on_command_type must be last, first or brightness`);
    if (platform === 'light' && (c.brightness_state_topic !== undefined) !== (c.brightness_command_topic !== undefined)) problems.push(`${where}: brightness state and command topics go together`);
    if (c.device_class === 'enum' && (!Array.isArray(c.options) || c.options.length === 0)) problems.push(`${where}: enum sensor needs options`);
    // HA refuses a default_entity_id that is no valid entity id of the component's domain.
    if (c.default_entity_id !== undefined && !(typeof c.default_entity_id === 'string' && new RegExp(`^${platform}\\.(?!_)(?!.*__)[a-z0-9_]+(?<!_)$`).test(c.default_entity_id))) problems.push(`${where}: default_entity_id ${String(c.default_entity_id)} is not a valid ${platform} entity id`);
    if (c.enabled_by_default !== undefined && typeof c.enabled_by_default !== 'boolean') problems.push(`${where}: enabled_by_default must be a boolean`);
    if (typeof c.name === 'string' && dev && typeof dev.name === 'string' && c.name.startsWith(dev.name)) problems.push(`${where}: name starts with the device name`);
  }
  return problems;
}

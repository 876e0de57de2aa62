// Containerlab-style topology YAML: parsed with the yaml package and checked, with every problem
// reported by its path. Keys containerlab knows and we do not use are kept for the containerlab CLI.
import { yamlLib } from '../../core/lazyYaml.js';
import { z } from 'zod';
import { validationError, type ErrorDetail } from '../../core/errors.js';
import { unsafeInputProblems, zodDetails } from '../../core/validation.js';

export const MAX_TOPOLOGY_LENGTH = 64 * 1024;
export const MAX_NODES = 64;
/** Node kinds Switchboard runs itself; every other kind goes to containerlab. */
export const NATIVE_KINDS = ['camera', 'exec'] as const;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const nameSchema = z.string().regex(NAME, 'must be 1-63 letters, digits, _ . - (starting with a letter or digit)');

const nodeSchema = z
  .object({
    kind: z.string().min(1).max(64).regex(/^[a-z0-9_-]+$/, 'must be lower-case letters, digits, _ -'),
    image: z.string().min(1).max(512).optional(),
    /** exec: argv (no shell). containerlab: passed through as the container command. */
    cmd: z.union([z.string().min(1).max(4096), z.array(z.string().max(4096)).min(1).max(256)]).optional(),
    exec: z.array(z.string().max(4096)).max(64).optional(),
    /** camera: the id of the camera the node keeps demanded. */
    camera: z.string().min(1).max(128).optional(),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'), z.string().max(4096)).optional(),
  })
  .passthrough()
  .superRefine((node, ctx) => {
    if (node.kind === 'exec') {
      if (!Array.isArray(node.cmd)) {
        ctx.addIssue({ code: 'custom', path: ['cmd'], message: 'exec nodes need cmd as a list: the program and its arguments (no shell)' });
      } else if (!node.cmd[0]) {
        ctx.addIssue({ code: 'custom', path: ['cmd', 0], message: 'must name the program to run' });
      }
    }
    if (node.kind === 'camera' && node.camera === undefined) {
      ctx.addIssue({ code: 'custom', path: ['camera'], message: 'camera nodes need the id of a camera' });
    }
  });

const topologySchema = z
  .object({
    name: nameSchema,
    topology: z
      .object({
        nodes: z
          .record(z.string().regex(NAME, 'node names must be 1-63 letters, digits, _ . - (starting with a letter or digit)'), nodeSchema)
          .superRefine((nodes, ctx) => {
            const count = Object.keys(nodes).length;
            if (count === 0) ctx.addIssue({ code: 'custom', message: 'must define at least one node' });
            if (count > MAX_NODES) ctx.addIssue({ code: 'custom', message: `at most ${MAX_NODES} nodes` });
          }),
        links: z.array(z.record(z.string(), z.unknown())).optional(),
      })
      .passthrough(),
  })
  .passthrough();

export type TopologyNode = z.infer<typeof nodeSchema>;

export interface Topology {
  name: string;
  nodes: { name: string; spec: TopologyNode }[];
  /** The whole parsed document, for runtimes that hand it on (containerlab). */
  document: Record<string, unknown>;
}

/** Parses and checks a topology; throws a validation error whose details name each problem. */
export function parseTopology(text: unknown, path = 'payload.topology'): Topology {
  if (typeof text !== 'string' || !text.trim()) throw validationError('Invalid topology', [{ path, message: 'must be a non-empty YAML string' }]);
  if (text.length > MAX_TOPOLOGY_LENGTH) throw validationError('Invalid topology', [{ path, message: `must be at most ${MAX_TOPOLOGY_LENGTH} characters` }]);
  const doc = yamlLib().parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length) {
    throw validationError(
      'Invalid topology',
      doc.errors.slice(0, 10).map((e): ErrorDetail => ({ path, message: `YAML ${e.message.split('\n')[0]!.replace(/:$/, '')}` })),
    );
  }
  // Alias expansion is capped so a "billion laughs" document cannot blow up memory.
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw validationError('Invalid topology', [{ path, message: `YAML ${(err as Error).message}` }]);
  }
  const unsafe = unsafeInputProblems(value, path);
  if (unsafe.length) throw validationError('Invalid topology', unsafe);
  const result = topologySchema.safeParse(value);
  if (!result.success) throw validationError('Invalid topology', zodDetails(result.error, path));
  const data = result.data;
  return {
    name: data.name,
    nodes: Object.entries(data.topology.nodes).map(([name, spec]) => ({ name, spec })),
    document: data as Record<string, unknown>,
  };
}

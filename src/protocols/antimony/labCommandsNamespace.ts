// /lab-commands: client -> server `data` {labId, command, node?} (the object or its JSON string,
// as the original client sends JSON.stringify(cmd)); acknowledged with {payload: null} or {code, message}.
import { z } from 'zod';
import type { Logger } from 'pino';
import { AppError, notFound, validationError } from '../../core/errors.js';
import { isUuid } from '../../core/ids.js';
import { parseInput } from '../../core/validation.js';
import { LabCommand, type LabsService } from '../../services/labs/labsService.js';
import { AntimonyCode, toAntimonyError, type AntimonyError } from './errors.js';
import { currentActor } from './socketAuth.js';
import type { AntimonySocket as Socket } from './sockets.js';

const MAX_COMMAND_TEXT = 4096;

const commandSchema = z
  .object({
    labId: z.string().max(128),
    command: z.number().int().refine((c) => c >= 0 && c <= 3, 'unknown command; use 0 deploy, 1 destroy, 2 stop node, 3 start node'),
    node: z.string().min(1).max(128).optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if ((v.command === LabCommand.StopNode || v.command === LabCommand.StartNode) && v.node === undefined) {
      ctx.addIssue({ code: 'custom', path: ['node'], message: `required for command ${v.command}` });
    }
  });

type Ack = (reply: { payload: unknown } | AntimonyError) => void;

function parseCommand(raw: unknown): z.infer<typeof commandSchema> {
  let value = raw;
  if (typeof raw === 'string') {
    if (raw.length > MAX_COMMAND_TEXT) throw validationError('Invalid request', [{ path: '', message: `longer than ${MAX_COMMAND_TEXT} characters` }]);
    try {
      value = JSON.parse(raw) as unknown;
    } catch {
      throw validationError('Invalid request', [{ path: '', message: 'not valid JSON' }]);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw validationError('Invalid request', [{ path: '', message: 'expected {labId, command, node?}' }]);
  }
  const cmd = parseInput(commandSchema, value, '', 'Invalid request');
  if (!isUuid(cmd.labId)) throw notFound('Lab');
  return cmd;
}

export function handleLabCommands(socket: Socket, labs: LabsService, logger?: Logger): void {
  socket.on('data', (...args: unknown[]) => {
    // The acknowledgement is the last argument, if the client asked for one (even with no payload).
    const last = args[args.length - 1];
    const reply: Ack = typeof last === 'function' ? (last as Ack) : () => undefined;
    const raw = typeof args[0] === 'function' ? undefined : args[0];
    // Judged now: a revoked or expired token never acts, a lowered role acts as the lower role.
    const actor = currentActor(socket);
    if (!actor) {
      reply({ code: AntimonyCode.Forbidden, message: 'Invalid Token' });
      socket.disconnect(true);
      return;
    }
    let cmd: z.infer<typeof commandSchema>;
    try {
      cmd = parseCommand(raw);
    } catch (err) {
      reply(toAntimonyError(err));
      return;
    }
    labs.command(actor, cmd.labId, cmd.command as LabCommand, cmd.node).then(
      (payload) => reply({ payload }),
      (err: unknown) => {
        // Domain errors are the client's answer; anything else is a bug worth a log line.
        if (!(err instanceof AppError)) logger?.error({ err, labId: cmd.labId, command: cmd.command }, 'lab command failed');
        reply(toAntimonyError(err));
      },
    );
  });
}

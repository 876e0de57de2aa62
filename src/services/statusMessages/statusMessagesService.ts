// User-visible progress and problems (lab deployed, node failed, credential needs re-authentication,
// monitor offline), as Antimony's /status-messages carries them. Any service may publish; each
// message names who may see it. Messages travel on the bus (domain statusMessage).
import type { Logger } from 'pino';
import { can } from '../../auth/permissions.js';
import type { Actor } from '../../auth/records.js';
import type { EventBus } from '../../core/eventBus.js';
import type { Audience, StatusMessage } from '../../core/events.js';
import { newId } from '../../core/ids.js';

export const Severity = { Success: 0, Info: 1, Warning: 2, Error: 3, Fatal: 4 } as const;
export type Severity = (typeof Severity)[keyof typeof Severity];


export interface StatusMessageInput {
  source: string;
  content: string;
  logContent?: string;
  severity: Severity;
  audience?: Audience;
}

export const canSeeMessage = (actor: Actor, audience: Audience): boolean =>
  audience.kind === 'all' || can(actor.role, 'statusMessages.readAll') || (audience.kind === 'user' && actor.userId === audience.userId);

const LOG_LEVEL = ['info', 'info', 'warn', 'error', 'fatal'] as const;

export class StatusMessagesService {
  private readonly recentMessages: { message: StatusMessage; audience: Audience }[] = [];

  constructor(
    private readonly bus: EventBus,
    private readonly logger?: Logger,
    private readonly capacity = 200,
  ) {}

  publish(input: StatusMessageInput): StatusMessage {
    const message: StatusMessage = {
      id: newId(),
      timestamp: new Date().toISOString(),
      source: input.source,
      content: input.content,
      logContent: input.logContent ?? input.content,
      severity: input.severity,
    };
    const audience = input.audience ?? { kind: 'all' };
    this.recentMessages.push({ message, audience });
    if (this.recentMessages.length > this.capacity) this.recentMessages.shift();
    this.logger?.[LOG_LEVEL[message.severity]]({ source: message.source, severity: message.severity }, message.logContent);
    this.bus.publish('statusMessage', message.id, 'published', { message, audience });
    return message;
  }

  /** The latest messages this actor may see, oldest first. */
  recent(actor: Actor): StatusMessage[] {
    return this.recentMessages.filter((m) => canSeeMessage(actor, m.audience)).map((m) => m.message);
  }
}

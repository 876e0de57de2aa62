// Turns other domains' bus events into status messages, so they reach /status-messages without
// those services knowing about it.
import type { DomainEvent, EventBus } from '../../core/eventBus.js';
import { Severity, type StatusMessagesService } from './statusMessagesService.js';
import type { Extension } from '../../core/extension.js';


export class StatusMessageSources implements Extension {
  readonly name = 'status-message-sources';

  constructor(
    private readonly bus: EventBus,
    private readonly messages: StatusMessagesService,
  ) {}

  async start(): Promise<void> {
    this.bus.subscribe(this, (e) => this.onEvent(e), ['credentials', 'monitor']);
  }

  async stop(): Promise<void> {
    this.bus.removeListeners(this);
  }

  private onEvent(e: DomainEvent<'credentials' | 'monitor'>): void {
    if (e.domain === 'credentials' && e.event === 'unauthenticated') {
      const name = e.details.description;
      const reason = e.details.error;
      this.messages.publish({
        source: 'credentials',
        content: `Credential "${name}" needs to be re-authenticated`,
        logContent: `Credential ${e.entity} (${name}) is no longer authenticated${reason ? `: ${reason}` : ''}; an admin must authorize it again`,
        severity: Severity.Warning,
        audience: { kind: 'admins' },
      });
    } else if (e.domain === 'monitor' && e.event === 'offline') {
      const name = e.details.name;
      const reason = e.details.reason;
      this.messages.publish({
        source: 'monitors',
        content: `Monitor "${name}" went offline`,
        logContent: `Monitor ${e.details.monitor_id} went offline${reason ? `: ${reason}` : ''}`,
        severity: Severity.Warning,
      });
    }
  }
}

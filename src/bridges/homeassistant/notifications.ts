// Persistent notifications in Home Assistant for problems that need a person: a credential that
// must be authorized again, a monitor that went offline, a recording stopped for lack of space, a
// store that cannot be written. Kept as desired state (open / to dismiss)
// so a notification raised or resolved while HA was unreachable is sent on the next connection.
import type { DomainEvent } from '../../core/eventBus.js';

export interface NotificationSources {
  credentials?: () => readonly { id: string; description: string; needs_reauth: boolean; last_error: string | null }[];
  monitors?: () => readonly { id: string; name: string }[];
  cameras?: () => readonly { id: string; name: string }[];
  /** Stores that cannot be written now (StorageHealth.failing()). */
  failingStores?: () => readonly { store: string; error?: string }[];
}

interface Notice {
  title: string;
  message: string;
}

/** Sends one persistent_notification service call; resolves false when it could not be sent. */
export type NotificationSender = (service: 'create' | 'dismiss', data: Record<string, string>) => Promise<boolean>;

export const notificationId = (domain: string, id: string) => `switchboard_${domain}_${id}`;

export class Notifications {
  private readonly open = new Map<string, Notice>();
  private readonly toDismiss = new Set<string>();

  constructor(
    private readonly send: NotificationSender,
    private readonly sources: NotificationSources,
  ) {
    for (const c of sources.credentials?.() ?? []) {
      if (c.needs_reauth) this.open.set(notificationId('credentials', c.id), credentialNotice(c.description, c.last_error));
    }
    for (const s of sources.failingStores?.() ?? []) this.open.set(notificationId('storage', s.store), storageNotice(s.store, s.error));
  }

  /** After every (re)connection: make HA match what should be showing. */
  async sync(): Promise<void> {
    for (const [id, n] of this.open) await this.send('create', { notification_id: id, title: n.title, message: n.message });
    for (const id of [...this.toDismiss]) if (await this.send('dismiss', { notification_id: id })) this.toDismiss.delete(id);
  }

  onEvent(e: DomainEvent): void {
    if (!e.entity) return;
    if (e.domain === 'credentials') {
      if (e.event === 'unauthenticated') {
        const c = this.sources.credentials?.().find((x) => x.id === e.entity);
        this.raise(notificationId('credentials', e.entity), credentialNotice(c?.description ?? e.entity, typeof e.details.error === 'string' ? e.details.error : null));
      } else if (e.event === 'authenticated' || e.event === 'deleted') {
        this.resolve(notificationId('credentials', e.entity), true);
      } else if (e.event === 'reauthenticated') {
        this.resolve(notificationId('credentials', e.entity), false);
      }
    } else if (e.domain === 'system' && e.event === 'storage') {
      const id = notificationId('storage', e.entity);
      if (e.details.ok === true) this.resolve(id, true);
      else this.raise(id, storageNotice(e.entity, typeof e.details.error === 'string' ? e.details.error : undefined));
    } else if (e.domain === 'monitor') {
      if (e.event === 'offline') {
        const m = this.sources.monitors?.().find((x) => x.id === e.entity);
        const name = m?.name ?? (typeof e.details.monitor_id === 'string' ? e.details.monitor_id : e.entity);
        const reason = typeof e.details.reason === 'string' ? ` (${e.details.reason})` : '';
        this.raise(notificationId('monitor', e.entity), { title: 'Switchboard: monitor offline', message: `Monitor "${name}" went offline at ${e.at}${reason}.` });
      } else if (e.event === 'online' || e.event === 'deleted') {
        this.resolve(notificationId('monitor', e.entity), true);
      }
    } else if (e.domain === 'camera' && e.event === 'recording') {
      // A `reason` means the recording stopped by itself; it is over once recording runs again.
      const id = notificationId('recording', e.entity);
      if (typeof e.details.reason === 'string') {
        const name = this.sources.cameras?.().find((c) => c.id === e.entity)?.name ?? e.entity;
        const error = typeof e.details.error === 'string' ? e.details.error : e.details.reason;
        this.raise(id, { title: 'Switchboard: recording stopped', message: `Recording on camera "${name}" stopped at ${e.at}: ${error}. Free space in the media folder or change the recording options, then switch recording on again.` });
      } else if (e.details.state === 'on') {
        this.resolve(id, false);
      }
    }
  }

  private raise(id: string, notice: Notice): void {
    this.toDismiss.delete(id);
    this.open.set(id, notice);
    void this.send('create', { notification_id: id, title: notice.title, message: notice.message });
  }

  /** `always`: dismiss even if we did not raise it here (it may be left over from before a restart). */
  private resolve(id: string, always: boolean): void {
    if (!this.open.delete(id) && !always) return;
    this.toDismiss.add(id);
    void this.send('dismiss', { notification_id: id }).then((sent) => {
      if (sent) this.toDismiss.delete(id);
    });
  }
}

const credentialNotice = (description: string, error: string | null): Notice => ({
  title: 'Switchboard: authorize a credential again',
  message: `The credential "${description}" can no longer be refreshed${error ? ` (${error})` : ''}. Open Switchboard and authorize it again.`,
});

const storageNotice = (store: string, error: string | undefined): Notice => ({
  title: `Switchboard: the ${store === 'media' ? 'media folder' : 'data store'} cannot be written`,
  message: `${error ?? 'A write failed'}. Switchboard refuses changes${store === 'media' ? ' and recordings' : ''} until it can write again; live views and reads keep working. Free some space (or fix the disk); Switchboard notices by itself, no restart needed.`,
});

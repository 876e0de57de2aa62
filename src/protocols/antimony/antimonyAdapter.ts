// The Antimony namespaces on the shared Socket.IO server: /status-messages, /lab-updates,
// /logs/<labId>[/<node>] and /lab-commands. Only translation lives here: connections are checked
// with the session registry, commands go to the labs service, bus events become emits.
import type { Logger } from 'pino';
import type { SessionRegistry } from '../../auth/sessions.js';
import type { DomainEvent, EventBus } from '../../core/eventBus.js';
import type { LabsService } from '../../services/labs/labsService.js';
import type { StatusService } from '../../services/system/statusService.js';
import { handleLabCommands } from './labCommandsNamespace.js';
import { LOGS_NAMESPACE, LabLogStreams, dropEmptyChild } from './labLogsNamespace.js';
import { forwardLabUpdate, greetLabUpdates } from './labUpdatesNamespace.js';
import { openSession, requireToken } from './socketAuth.js';
import type { AntimonyNamespace as Namespace, AntimonyServer } from './sockets.js';
import { forwardStatusMessage } from './statusMessagesNamespace.js';
import type { Extension } from '../../core/extension.js';

export interface AntimonyDeps {
  io: AntimonyServer;
  sessions: SessionRegistry;
  bus: EventBus;
  labs: LabsService;
  status: StatusService;
  logger?: Logger;
}

export class AntimonyAdapter implements Extension {
  readonly name = 'antimony';
  private readonly logs: LabLogStreams;
  private namespaces: Namespace[] = [];

  constructor(private readonly deps: AntimonyDeps) {
    this.logs = new LabLogStreams(deps.labs);
  }

  async start(): Promise<void> {
    const { io, sessions, bus, labs } = this.deps;
    const auth$ = requireToken(sessions);
    const statusNsp = io.of('/status-messages');
    const updatesNsp = io.of('/lab-updates');
    const commandsNsp = io.of('/lab-commands');
    const logsNsp = io.of(LOGS_NAMESPACE);
    this.namespaces = [statusNsp, updatesNsp, commandsNsp, logsNsp];
    for (const nsp of [statusNsp, updatesNsp, commandsNsp]) nsp.use(auth$);
    logsNsp.use((socket, next) => {
      const done = (err?: Error) => {
        if (err) setImmediate(() => dropEmptyChild(io, logsNsp, socket.nsp));
        next(err);
      };
      auth$(socket, (err) => (err ? done(err) : this.logs.check(socket, done)));
    });

    statusNsp.on('connection', (s) => {
      openSession(sessions, s);
      this.counted(s);
    });
    updatesNsp.on('connection', (s) => {
      openSession(sessions, s);
      this.counted(s);
      greetLabUpdates(s);
    });
    commandsNsp.on('connection', (s) => {
      openSession(sessions, s);
      this.counted(s);
      handleLabCommands(s, labs, this.deps.logger);
    });
    logsNsp.on('connection', (s) => {
      // A lowered role may lose sight of the lab: the log socket is then dropped.
      openSession(sessions, s, () => this.logs.recheck(s));
      this.counted(s);
      this.logs.connect(s);
      s.once('disconnect', () => setImmediate(() => dropEmptyChild(io, logsNsp, s.nsp)));
    });

    bus.subscribe(this, (e) => this.onEvent(e, statusNsp, updatesNsp), ['lab', 'statusMessage']);
  }

  private counted(socket: { once(ev: 'disconnect', fn: () => void): unknown }): void {
    this.reportClients();
    socket.once('disconnect', () => setImmediate(() => this.reportClients()));
  }

  private reportClients(): void {
    const [status, updates, commands] = this.namespaces;
    const n = (status?.sockets.size ?? 0) + (updates?.sockets.size ?? 0) + (commands?.sockets.size ?? 0) + this.logs.count();
    this.deps.status.setClients('antimony', n);
  }

  private onEvent(e: DomainEvent, statusNsp: Namespace, updatesNsp: Namespace): void {
    if (e.domain === 'statusMessage') forwardStatusMessage(statusNsp, e);
    else if (e.domain === 'lab') {
      forwardLabUpdate(updatesNsp, this.deps.labs, e);
      this.logs.onLabEvent(e);
    }
  }

  async stop(): Promise<void> {
    this.deps.bus.removeListeners(this);
    for (const nsp of this.namespaces) nsp.disconnectSockets(true);
    this.logs.dropAll();
  }
}

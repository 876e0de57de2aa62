// The lifecycle every service, protocol adapter and bridge implements. The composition root
// (src/app.ts) lists them in order, starts them in that order and stops them in reverse; nothing
// else imports the root, so this type lives here, below every layer.

/** One concern of the server: started in order, stopped in reverse. */
export interface Extension {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

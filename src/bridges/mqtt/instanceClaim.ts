// One Switchboard per base topic. Two instances that keep the same `mqtt.base_topic` on one broker
// would share the bridge's availability topic (one's last will would take the other's entities
// offline) and sweep each other's cameras out of Home Assistant. So each instance claims its base
// topic with a retained message naming its client id, and a newcomer that finds a claim asks
// whether its owner is alive before taking the topic:
//
//   <base>/bridge/instance        retained {"id": "<client id>", "host": "<host name>", "nonces": [...]}
//   <base>/bridge/instance/probe  {"id": "<newcomer>", "nonce": "<random>"}: the holder answers by
//                                 publishing its claim again, echoing the probe's nonce
//
// Anyone may publish on a broker they can reach, so nothing here trusts one message:
// - A newcomer probes several times, one fresh nonce each, and yields only to a holder that echoes
//   every one of them; a single forged answer does not keep it off. A newcomer that did yield
//   checks again periodically (the bridge reconnects), so a holder that stops answering loses the topic.
// - Once this process has held the topic, a reconnect re-asserts the claim without asking: a client
//   that takes over our client id (the broker drops us) and leaves a forged claim behind gains nothing.
// - A foreign claim yields the topic only within a short window after a fresh claim (two instances
//   started at the same moment: the smaller client id keeps it); later it is answered with our claim
//   and logged. Answers go out at most once a second whatever floods the probe topic.
import { randomBytes } from 'node:crypto';
import type { MqttConnection } from './connection.js';

export interface Claim {
  id: string;
  host: string;
}

/** What a message on the claim topics means for this instance. */
export type ClaimVerdict = 'not-mine' | 'handled' | { yield: Claim } | { contested: Claim };

/** Answers (our claim published again) at most this often. */
const ANSWER_INTERVAL_MS = 1000;
/** A holder must echo this many probes in a row to keep a newcomer off. */
const PROBE_ROUNDS = 3;
/** Nonces echoed per answer: probes that arrived since the last answer, newest kept. */
const MAX_ECHOED_NONCES = 8;
const MAX_NONCE_LENGTH = 64;

export class InstanceClaim {
  readonly topic: string;
  readonly probeTopic: string;
  private held = false;
  /** This process has held the topic: reconnects re-assert it instead of probing. */
  private everHeld = false;
  /** When this instance freshly took the topic (the window in which a simultaneous claim may win). */
  private heldSince = -Infinity;
  private lastAnswer = -Infinity;
  private pendingAnswer: NodeJS.Timeout | null = null;
  private nonces: string[] = [];
  /** A claim of another instance the broker had kept (seen while acquiring). */
  private foundClaim: Claim | null = null;
  /** The probe round waiting for an answer that echoes its nonce. */
  private waiting: { nonce: string; resolve: (claim: Claim) => void } | null = null;

  constructor(
    base: string,
    private readonly self: Claim,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.topic = `${base}/bridge/instance`;
    this.probeTopic = `${this.topic}/probe`;
  }

  /** After (re)connecting, before anything else is published: the live holder of the topic, or null once it is ours. */
  async acquire(conn: MqttConnection): Promise<Claim | null> {
    this.held = false;
    this.foundClaim = null;
    await conn.subscribe([this.topic, this.probeTopic]);
    this.reasserted = this.everHeld;
    if (this.everHeld) {
      await this.take(conn, false);
      return null;
    }
    let holder: Claim | null = null;
    for (let round = 0; round < PROBE_ROUNDS; round++) {
      // The holder answers at most once per interval: a probe sent sooner would wait for its answer.
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, ANSWER_INTERVAL_MS));
      const nonce = randomBytes(8).toString('hex');
      const answer = new Promise<Claim>((resolve) => (this.waiting = { nonce, resolve }));
      // The probe's acknowledgement comes after the retained claim (if any) was delivered to us.
      await conn.publish(this.probeTopic, JSON.stringify({ id: this.self.id, nonce }), { qos: 1 });
      if (!this.foundClaim) break;
      let timer: NodeJS.Timeout | undefined;
      const got = await Promise.race([answer, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), this.windowMs)))]);
      clearTimeout(timer);
      if (!got || (holder && got.id !== holder.id)) {
        holder = null;
        break;
      }
      holder = got;
    }
    this.waiting = null;
    if (holder) return holder;
    await this.take(conn, true);
    return null;
  }

  /** The claim the broker held for another instance that did not prove alive (it is gone), if any. */
  get replaced(): Claim | null {
    return this.foundClaim;
  }

  /** Whether the topic was ours when the connection was last up (a reconnect re-asserts it). */
  get reasserts(): boolean {
    return this.everHeld;
  }

  /** The last acquisition re-asserted our claim without asking (a foreign claim found then was overwritten). */
  reasserted = false;

  onMessage(conn: MqttConnection, topic: string, payload: Buffer, retained: boolean): ClaimVerdict {
    if (topic !== this.topic && topic !== this.probeTopic) return 'not-mine';
    const claim = parseClaim(payload);
    if (!claim || claim.id === this.self.id) return 'handled';
    if (topic === this.probeTopic) {
      // Someone asks whether the topic is taken: it is, while we hold it.
      if (this.held && claim.nonce) this.nonces = [...this.nonces.filter((n) => n !== claim.nonce), claim.nonce].slice(-MAX_ECHOED_NONCES);
      this.answer(conn);
      return 'handled';
    }
    if (retained) {
      if (!this.held) this.foundClaim = claim;
      return 'handled';
    }
    if (this.waiting) {
      // Only an answer to this very probe counts; anything else proves nothing.
      if (claim.nonces.includes(this.waiting.nonce)) this.waiting.resolve({ id: claim.id, host: claim.host });
      return 'handled';
    }
    if (!this.held) return 'handled';
    // Another instance claimed the topic live just as we freshly did: both started at once.
    if (claim.id < this.self.id && this.now() - this.heldSince <= this.windowMs) {
      this.held = false;
      this.everHeld = false;
      return { yield: { id: claim.id, host: claim.host } };
    }
    // Told (logged) at most once per answer, so a flood of claims is not a flood of log lines.
    return this.answer(conn) ? { contested: { id: claim.id, host: claim.host } } : 'handled';
  }

  private async take(conn: MqttConnection, fresh: boolean): Promise<void> {
    this.held = true;
    this.everHeld = true;
    this.heldSince = fresh ? this.now() : -Infinity;
    this.lastAnswer = this.now();
    this.nonces = [];
    await conn.publish(this.topic, JSON.stringify(this.self), { retain: true, qos: 1 });
  }

  /**
   * Publishes our claim again, at most once per interval (a later request is served when it ends).
   * False when an answer is already on its way.
   */
  private answer(conn: MqttConnection): boolean {
    if (!this.held || this.pendingAnswer) return false;
    const wait = this.lastAnswer + ANSWER_INTERVAL_MS - this.now();
    const send = () => {
      this.pendingAnswer = null;
      if (!this.held || !conn.connected) return;
      this.lastAnswer = this.now();
      const nonces = this.nonces;
      this.nonces = [];
      void conn.publish(this.topic, JSON.stringify(nonces.length ? { ...this.self, nonces } : this.self), { retain: true, qos: 1 });
    };
    if (wait <= 0) send();
    else {
      this.pendingAnswer = setTimeout(send, wait);
      this.pendingAnswer.unref();
    }
    return true;
  }
}

interface Message extends Claim {
  /** On a probe: its nonce. */
  nonce: string | null;
  /** On a claim: the probe nonces it answers. */
  nonces: string[];
}

function parseClaim(payload: Buffer): Message | null {
  try {
    const v = JSON.parse(payload.toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null) return null;
    const { id, host, nonce, nonces } = v as Record<string, unknown>;
    if (typeof id !== 'string' || id.length > 128) return null;
    const isNonce = (n: unknown): n is string => typeof n === 'string' && n.length > 0 && n.length <= MAX_NONCE_LENGTH;
    return {
      id,
      host: typeof host === 'string' ? host.slice(0, 255) : '',
      nonce: isNonce(nonce) ? nonce : null,
      nonces: Array.isArray(nonces) ? nonces.slice(0, MAX_ECHOED_NONCES).filter(isNonce) : [],
    };
  } catch {
    return null;
  }
}

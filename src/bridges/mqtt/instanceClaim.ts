// One Switchboard per base topic. Two instances that keep the same `mqtt.base_topic` on one broker
// would share the bridge's availability topic (one's last will would take the other's entities
// offline) and sweep each other's cameras out of Home Assistant. So each instance claims its base
// topic with a retained message naming its client id, and a newcomer that finds a claim asks
// whether its owner is alive before taking the topic:
//
//   <base>/bridge/instance        retained {"id": "<client id>", "host": "<host name>"}
//   <base>/bridge/instance/probe  {"id": "<newcomer>"}: the holder answers by publishing its claim again
//
// An answered probe means the topic is taken: the newcomer leaves the broker before publishing
// anything. No answer within the window means the claim was left by an instance that is gone.
// Two instances that claim at the same moment both see the other's claim arrive live; the one
// with the smaller client id keeps the topic. Anyone may publish on a broker they can reach, so
// a foreign claim yields the topic only within that window after claiming (later it is answered
// with our claim and logged), and answers go out at most once a second whatever floods the probe.
import type { MqttConnection } from './connection.js';

export interface Claim {
  id: string;
  host: string;
}

/** What a message on the claim topics means for this instance. */
export type ClaimVerdict = 'not-mine' | 'handled' | { yield: Claim } | { contested: Claim };

/** Answers (our claim published again) at most this often. */
const ANSWER_INTERVAL_MS = 1000;

export class InstanceClaim {
  readonly topic: string;
  readonly probeTopic: string;
  private held = false;
  /** When this instance took the topic (the window in which a simultaneous claim may win). */
  private heldSince = 0;
  private lastAnswer = -Infinity;
  private pendingAnswer: NodeJS.Timeout | null = null;
  /** A claim of another instance the broker had kept (seen while acquiring). */
  private foundClaim: Claim | null = null;
  /** Resolves an acquisition waiting for the holder's answer. */
  private answered: ((claim: Claim) => void) | null = null;

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
    // The probe's acknowledgement comes after the retained claim (if any) was delivered to us.
    const answer = new Promise<Claim>((resolve) => (this.answered = resolve));
    await conn.publish(this.probeTopic, JSON.stringify({ id: this.self.id }), { qos: 1 });
    let holder: Claim | null = null;
    if (this.foundClaim) {
      let timer: NodeJS.Timeout | undefined;
      holder = await Promise.race([answer, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), this.windowMs)))]);
      clearTimeout(timer);
    }
    this.answered = null;
    if (holder) return holder;
    this.held = true;
    this.heldSince = this.now();
    this.lastAnswer = this.now();
    await conn.publish(this.topic, JSON.stringify(this.self), { retain: true, qos: 1 });
    return null;
  }

  /** The claim the broker held for another instance that did not answer (it is gone), if any. */
  get replaced(): Claim | null {
    return this.foundClaim;
  }

  onMessage(conn: MqttConnection, topic: string, payload: Buffer, retained: boolean): ClaimVerdict {
    if (topic !== this.topic && topic !== this.probeTopic) return 'not-mine';
    const claim = parseClaim(payload);
    if (!claim || claim.id === this.self.id) return 'handled';
    if (topic === this.probeTopic) {
      // Someone asks whether the topic is taken: it is, while we hold it.
      this.answer(conn);
      return 'handled';
    }
    if (retained) {
      if (!this.held) this.foundClaim = claim;
      return 'handled';
    }
    if (this.answered) {
      this.answered(claim);
      return 'handled';
    }
    if (!this.held) return 'handled';
    // Another instance claimed the topic live just as we did: both started at once.
    if (claim.id < this.self.id && this.now() - this.heldSince <= this.windowMs) {
      this.held = false;
      return { yield: claim };
    }
    // Told (logged) at most once per answer, so a flood of claims is not a flood of log lines.
    return this.answer(conn) ? { contested: claim } : 'handled';
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
      void conn.publish(this.topic, JSON.stringify(this.self), { retain: true, qos: 1 });
    };
    if (wait <= 0) send();
    else {
      this.pendingAnswer = setTimeout(send, wait);
      this.pendingAnswer.unref();
    }
    return true;
  }
}

function parseClaim(payload: Buffer): Claim | null {
  try {
    const v = JSON.parse(payload.toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null) return null;
    const { id, host } = v as Record<string, unknown>;
    return typeof id === 'string' && id.length <= 128 ? { id, host: typeof host === 'string' ? host.slice(0, 255) : '' } : null;
  } catch {
    return null;
  }
}

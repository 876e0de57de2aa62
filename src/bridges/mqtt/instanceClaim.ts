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
// with the smaller client id keeps the topic.
import type { MqttConnection } from './connection.js';

export interface Claim {
  id: string;
  host: string;
}

/** What a message on the claim topics means for this instance. */
export type ClaimVerdict = 'not-mine' | 'handled' | { yield: Claim };

export class InstanceClaim {
  readonly topic: string;
  readonly probeTopic: string;
  private held = false;
  /** A claim of another instance the broker had kept (seen while acquiring). */
  private foundClaim: Claim | null = null;
  /** Resolves an acquisition waiting for the holder's answer. */
  private answered: ((claim: Claim) => void) | null = null;

  constructor(
    base: string,
    private readonly self: Claim,
    private readonly windowMs: number,
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
      if (this.held) void conn.publish(this.topic, JSON.stringify(this.self), { retain: true, qos: 1 });
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
    // Another instance claimed the topic live while we hold it: both started at once.
    if (this.held && claim.id < this.self.id) {
      this.held = false;
      return { yield: claim };
    }
    if (this.held) void conn.publish(this.topic, JSON.stringify(this.self), { retain: true, qos: 1 });
    return 'handled';
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

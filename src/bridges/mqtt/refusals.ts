// How often a refused MQTT command is told. Anyone who can publish to the broker can send
// thousands of bad commands a second; each is still refused, but reported (a log line and a
// `commandRefused` event) at most once a window per topic, with the count of those refused since,
// and for at most `maxReportsPerWindow` topics in all (a flood over many made-up topics is counted,
// then told in one summary). What is remembered is bounded too.

export interface RefusalLimits {
  windowMs: number;
  /** Topics reported per window at most, whatever the number of topics refused. */
  maxReportsPerWindow: number;
  /** Topics remembered at most (older ones are forgotten first). */
  maxTracked: number;
}

export const DEFAULT_REFUSAL_LIMITS: RefusalLimits = { windowMs: 60_000, maxReportsPerWindow: 3, maxTracked: 1000 };

/** A refusal to tell: `count` is this one and those not told since the last report on the topic. */
export interface RefusalReport<T> {
  topic: string;
  count: number;
  /** The latest refusal's details on this topic. */
  last: T;
}

interface Entry<T> {
  /** Until when refusals on the topic are only counted. */
  quietUntil: number;
  suppressed: number;
  last: T;
}

export class RefusalLimiter<T> {
  private readonly topics = new Map<string, Entry<T>>();
  private windowStart = -Infinity;
  private reportsInWindow = 0;
  /** Refusals not told because the window's reports were used up (told by the next flush). */
  private overflow = 0;

  constructor(
    private readonly limits: RefusalLimits = DEFAULT_REFUSAL_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one refusal; returns the report to tell now, or null when it is only counted. */
  note(topic: string, details: T): RefusalReport<T> | null {
    const t = this.now();
    this.rollWindow(t);
    const entry = this.topics.get(topic);
    if (entry && t < entry.quietUntil) {
      entry.suppressed++;
      entry.last = details;
      return null;
    }
    if (this.reportsInWindow >= this.limits.maxReportsPerWindow) {
      this.overflow++;
      return null;
    }
    this.reportsInWindow++;
    const count = 1 + (entry?.suppressed ?? 0);
    this.topics.delete(topic);
    this.topics.set(topic, { quietUntil: t + this.limits.windowMs, suppressed: 0, last: details });
    this.prune(t);
    return { topic, count, last: details };
  }

  /**
   * Called once a window: the topics whose quiet time is over and that were refused meanwhile
   * (within the report limit), and how many refusals went untold beyond that limit.
   */
  flush(): { reports: RefusalReport<T>[]; untold: number } {
    const t = this.now();
    this.rollWindow(t);
    const reports: RefusalReport<T>[] = [];
    let untold = this.overflow;
    this.overflow = 0;
    for (const [topic, entry] of this.topics) {
      if (t < entry.quietUntil) continue;
      this.topics.delete(topic);
      if (entry.suppressed === 0) continue;
      if (this.reportsInWindow < this.limits.maxReportsPerWindow) {
        this.reportsInWindow++;
        reports.push({ topic, count: entry.suppressed, last: entry.last });
      } else {
        untold += entry.suppressed;
      }
    }
    return { reports, untold };
  }

  /** Topics remembered now (diagnostics, tests). */
  get tracked(): number {
    return this.topics.size;
  }

  private rollWindow(t: number): void {
    if (t < this.windowStart + this.limits.windowMs) return;
    this.windowStart = t;
    this.reportsInWindow = 0;
  }

  private prune(t: number): void {
    if (this.topics.size <= this.limits.maxTracked) return;
    for (const [topic, entry] of this.topics) {
      if (this.topics.size <= this.limits.maxTracked) return;
      // Oldest first (insertion order); what they held goes into the untold count.
      if (t >= entry.quietUntil || this.topics.size > this.limits.maxTracked) {
        this.overflow += entry.suppressed;
        this.topics.delete(topic);
      }
    }
  }
}

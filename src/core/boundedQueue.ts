// A FIFO with a size cap for things held while a peer is away (an MQTT broker, Home Assistant):
// when full the oldest item goes, and the drops are counted so they can be reported on return.
export class BoundedQueue<T> {
  private items: T[] = [];
  private droppedSinceDrain = 0;

  constructor(readonly capacity: number) {}

  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.capacity) {
      this.items.shift();
      this.droppedSinceDrain++;
    }
  }

  get size(): number {
    return this.items.length;
  }

  /** Items dropped since the last drain. */
  get dropped(): number {
    return this.droppedSinceDrain;
  }

  /** Takes every held item and the count of those dropped meanwhile; the queue starts empty again. */
  drain(): { items: T[]; dropped: number } {
    const out = { items: this.items, dropped: this.droppedSinceDrain };
    this.items = [];
    this.droppedSinceDrain = 0;
    return out;
  }
}

// Motion by frame differencing on small grey frames from the capture's motion output. A pixel
// counts as changed when it differs from the previous frame by more than `threshold` (0–255);
// motion starts when the changed share of the picture reaches `minAreaPercent`, and ends after
// `holdFrames` quiet frames in a row, so a pause in movement does not flap the sensor.

export interface MotionSettings {
  width: number;
  height: number;
  threshold: number;
  minAreaPercent: number;
  holdFrames: number;
}

export class MotionDetector {
  private readonly frameBytes: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private previous: Buffer | null = null;
  private quiet = 0;
  private moving = false;

  constructor(
    readonly settings: MotionSettings,
    private readonly onChange: (motion: boolean) => void,
  ) {
    this.frameBytes = settings.width * settings.height;
  }

  get motion(): boolean {
    return this.moving;
  }

  /** Raw grey bytes as they come off the pipe (frames may span chunks). */
  push(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < this.frameBytes) return;
    let data = Buffer.concat(this.pending, this.pendingBytes);
    while (data.length >= this.frameBytes) {
      this.onFrame(data.subarray(0, this.frameBytes));
      data = data.subarray(this.frameBytes);
    }
    this.pending = data.length ? [Buffer.from(data)] : [];
    this.pendingBytes = data.length;
  }

  /** Share of pixels (0–100) that changed by more than the threshold. */
  changedPercent(a: Buffer, b: Buffer): number {
    let changed = 0;
    for (let i = 0; i < this.frameBytes; i++) if (Math.abs(a[i]! - b[i]!) > this.settings.threshold) changed++;
    return (changed * 100) / this.frameBytes;
  }

  private onFrame(frame: Buffer): void {
    const prev = this.previous;
    this.previous = Buffer.from(frame);
    if (!prev) return;
    const active = this.changedPercent(prev, frame) >= this.settings.minAreaPercent;
    if (active) {
      this.quiet = 0;
      if (!this.moving) {
        this.moving = true;
        this.onChange(true);
      }
    } else if (this.moving && ++this.quiet >= this.settings.holdFrames) {
      this.moving = false;
      this.onChange(false);
    }
  }
}

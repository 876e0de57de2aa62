// `v4l2-ctl --list-formats-ext` output (discrete sizes and intervals, as vivid reports them) in the
// driver's FormatInfo shape, rates to 1/100 fps like the driver's: the independent side of the
// formats cross-check in the vivid VM.
export interface ListedFormat {
  fourcc: string;
  sizes: { width: number; height: number; fps: number[] }[];
}

export function parseListFormatsExt(text: string): ListedFormat[] {
  const formats: ListedFormat[] = [];
  for (const line of text.split('\n')) {
    // The fourcc may hold spaces ('Y16 ', 'Y16 -BE'); the driver trims trailing ones.
    const format = /^\s*\[\d+\]: '([^']+)'/.exec(line);
    const size = /Size: Discrete (\d+)x(\d+)/.exec(line);
    const interval = /Interval: Discrete [\d.]+s \(([\d.]+) fps\)/.exec(line);
    if (format) formats.push({ fourcc: format[1]!.trimEnd(), sizes: [] });
    else if (size) formats.at(-1)?.sizes.push({ width: Number(size[1]), height: Number(size[2]), fps: [] });
    else if (interval) formats.at(-1)?.sizes.at(-1)?.fps.push(Math.round(Number(interval[1]) * 100) / 100);
  }
  for (const f of formats) for (const s of f.sizes) s.fps.sort((a, b) => a - b);
  return formats;
}

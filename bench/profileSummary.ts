// Summarises a V8 .cpuprofile (node --cpu-prof): self and inclusive time by function, self time by
// package, and — cut to the request rounds the bench printed — busy time per request. V8 samples
// by wall clock: time the thread sat descheduled counts for the code it was in, so on a loaded
// machine compare shares (%) and scale them by a CPU figure (the bench's cpu_us_per_request).
// Usage: node --import tsx bench/profileSummary.ts FILE.cpuprofile [--window START-END:SERVED]... [--top N]
//   START-END are the `window_us` of a round (monotonic µs, V8's profile clock), SERVED its `served`.
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}
interface Window {
  start: number;
  end: number;
  served: number;
}

const NON_JS = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

function parseArgs(argv: string[]): { file: string; windows: Window[]; top: number } {
  const windows: Window[] = [];
  let top = 30;
  let file = '';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--window') {
      const m = /^(\d+)-(\d+):(\d+)$/.exec(argv[++i] ?? '');
      if (!m) throw new Error('--window wants START-END:SERVED (µs, µs, requests)');
      windows.push({ start: Number(m[1]), end: Number(m[2]), served: Number(m[3]) });
    } else if (a === '--top') top = Number(argv[++i]);
    else file = a;
  }
  if (!file) throw new Error('usage: profileSummary.ts FILE.cpuprofile [--window START-END:SERVED]... [--top N]');
  return { file, windows, top };
}

/** The package a script belongs to (node_modules/<name>), our own code by path, or node's internals. */
function packageOf(url: string): string {
  if (!url) return '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return 'node:internal';
  const own = /\/(?:dist|src)\/(.+)$/.exec(url);
  return own ? `app:${own[1]}` : url;
}

const label = (f: CallFrame) => (NON_JS.has(f.functionName) ? f.functionName : `${f.functionName || '(anonymous)'} ${packageOf(f.url)}:${f.lineNumber + 1}`);

function summarise(profile: CpuProfile, windows: Window[], top: number): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const packages = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  const inWindow = (t: number) => !windows.length || windows.some((w) => t >= w.start && t < w.end);
  let t = profile.startTime;
  let total = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    // A sample stands for the time until the next one.
    const weight = profile.timeDeltas[i + 1] ?? 0;
    if (!inWindow(t)) continue;
    const node = byId.get(profile.samples[i]!)!;
    total += weight;
    if (node.callFrame.functionName === '(idle)') {
      idle += weight;
      continue;
    }
    add(self, label(node.callFrame), weight);
    add(packages, NON_JS.has(node.callFrame.functionName) ? node.callFrame.functionName : packageOf(node.callFrame.url), weight);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const key = label(byId.get(id)!.callFrame);
      if (!seen.has(key)) add(inclusive, key, weight);
      seen.add(key);
    }
  }
  const busy = total - idle;
  const served = windows.reduce((a, w) => a + w.served, 0);
  const per = (us: number) => (served ? `${(us / served).toFixed(2)} µs/req` : `${(us / 1000).toFixed(1)} ms`);
  const print = (title: string, m: Map<string, number>, n: number) => {
    process.stdout.write(`\n${title}\n`);
    for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) process.stdout.write(`  ${per(v).padStart(16)}  ${((100 * v) / busy).toFixed(1).padStart(5)} %  ${k}\n`);
  };
  process.stdout.write(`window ${(total / 1e6).toFixed(2)} s, busy ${(busy / 1e6).toFixed(2)} s (${((100 * busy) / total).toFixed(0)} %)`);
  process.stdout.write(served ? `, ${served} requests: ${(busy / served).toFixed(2)} µs busy (wall clock) per request\n` : '\n');
  print('self time by package', packages, 20);
  print('self time by function', self, top);
  print('inclusive time by function', inclusive, top);
}

const args = parseArgs(process.argv.slice(2));
summarise(JSON.parse(readFileSync(args.file, 'utf8')) as CpuProfile, args.windows, args.top);

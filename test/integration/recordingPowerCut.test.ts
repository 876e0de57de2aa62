// A power cut while recording: the whole server (node + its ffmpeg children, one process group)
// is killed with SIGKILL, and every recording left behind must be readable by ffprobe, the one
// being written included.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { until } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SKIP = spawnSync('ffprobe', ['-version']).error ? 'ffmpeg/ffprobe are not installed' : false;
const SEGMENT_SECONDS = 5;

const dir = mkdtempSync(join(tmpdir(), 'switchboard-powercut-'));
let server: ChildProcess | null = null;

afterAll(() => {
  if (server?.pid && server.exitCode === null && server.signalCode === null) process.kill(-server.pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Frames and duration as ffprobe reads them; throws (ffprobe exits non-zero) when the file is unreadable. */
function probe(file: string): { frames: number; codec: string } {
  const out = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,nb_read_frames', '-of', 'json', file], { encoding: 'utf8' });
  const stream = (JSON.parse(out) as { streams: { codec_name: string; nb_read_frames: string }[] }).streams[0]!;
  return { frames: Number(stream.nb_read_frames), codec: stream.codec_name };
}

describe.skipIf(SKIP)('recordings survive a power cut', () => {
  it('after SIGKILL of the server and its ffmpeg, every segment plays, the open one included', async () => {
    const media = join(dir, 'media');
    const configFile = join(dir, 'config.yaml');
    writeFileSync(
      configFile,
      stringify({
        data_dir: join(dir, 'data'),
        http_host: '127.0.0.1',
        http_port: 0,
        monitor_port: 0,
        admin_password: 'power-cut-password',
        mqtt: { url: 'disabled' },
        homeassistant: { enabled: false },
        cameras: { simulated: 'always', devices: [] },
        // continuous: the server starts recording by itself, as after a real power cut and reboot.
        recording: { media_dir: media, segment_seconds: SEGMENT_SECONDS, trigger: 'continuous', min_free_mb: 0 },
      }),
    );
    let log = '';
    server = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'SUPERVISOR_TOKEN')), SWITCHBOARD_CONFIG: configFile },
      detached: true, // its own process group: killing the group is the power cut
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
    server.stderr!.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)));

    const files = () => {
      try {
        const camDir = readdirSync(media).map((c) => join(media, c))[0];
        return camDir ? readdirSync(camDir).filter((f) => f.endsWith('.mp4')).sort().map((f) => join(camDir, f)) : [];
      } catch {
        return [];
      }
    };
    // Two finished segments, and the third written long enough to hold flushed fragments.
    await until(`three segments (server log: ${log})`, () => files().length >= 3, 90_000);
    // Cut the power while the newest segment already holds flushed fragments (not in the instant it opened).
    await until('the open segment to hold fragments', () => statSync(files().at(-1)!).size > 20_000, 30_000);
    const ffmpegs = execFileSync('pgrep', ['-g', String(server.pid), 'ffmpeg'], { encoding: 'utf8' }).trim().split('\n');
    expect(ffmpegs.length).toBe(2); // the capture and the recorder, in the server's process group
    await until('the open segment to hold fragments', () => statSync(files().at(-1)!).size > 20_000, 30_000);
    process.kill(-server.pid!, 'SIGKILL');
    await new Promise<void>((resolve) => (server!.exitCode !== null || server!.signalCode !== null ? resolve() : server!.once('exit', () => resolve())));
    // Nothing of it survives (the killed ffmpegs may take a moment to be reaped).
    await until('the process group to be gone', () => spawnSync('pgrep', ['-g', String(server!.pid)]).status === 1, 10_000);

    const left = files();
    expect(left.length).toBeGreaterThanOrEqual(3);
    for (const file of left) {
      const p = probe(file);
      expect(p.codec, file).toBe('h264');
      expect(p.frames, file).toBeGreaterThan(0);
    }
    // Finished segments hold their full length (15 fps simulated camera).
    for (const file of left.slice(0, -1)) expect(probe(file).frames, file).toBeGreaterThanOrEqual((SEGMENT_SECONDS - 1) * 15);
  }, 180_000);
});

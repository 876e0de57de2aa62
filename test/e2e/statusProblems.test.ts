// The panel's Status page tells the operator what is wrong and which option fixes it: a camera
// path that does not exist and a missing ffmpeg, in Chromium against a whole server.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium, type Browser } from '../helpers/chromium.js';
import { ADMIN, startTestApp, type TestApp } from '../helpers/testApp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe.skipIf(!hasChromium)('the Status page names configuration problems', () => {
  let app: TestApp;
  let browser: Browser | undefined;
  const ffmpegPath = join(mkdtempSync(join(tmpdir(), 'switchboard-no-ffmpeg-')), 'ffmpeg');

  beforeAll(async () => {
    execFileSync('npm', ['run', '-s', 'build:web'], { cwd: ROOT, stdio: 'ignore' });
    app = await startTestApp({ cameras: { simulated: 'auto', devices: ['/dev/video97'], ffmpeg_path: ffmpegPath } });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  it('shows the camera path that does not exist and ffmpeg not working, each with the option to change', async () => {
    const page = await browser!.context.newPage();
    await page.goto(`${app.url}/#status`);
    await page.getByLabel('Username').fill(ADMIN.username);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('tab', { name: 'Status' }).click();
    const connections = page.locator('.card', { hasText: 'Connections' });
    await expect.poll(() => connections.textContent(), { timeout: 15_000 }).toContain('cameras.devices: /dev/video97 does not exist');
    const text = (await connections.textContent()) ?? '';
    expect(text).toContain('ffmpeg (streams, snapshots, recording)Not working');
    expect(text).toContain(`ffmpeg (cameras.ffmpeg_path: ${ffmpegPath}) was not found or is not executable`);
    expect(await page.locator('.card', { hasText: 'Switchboard' }).first().textContent()).toContain('Degraded');
    await page.close();
  });
});

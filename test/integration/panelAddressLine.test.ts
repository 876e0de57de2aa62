// Start-up ends with one line that says where the web panel is, and that address serves the panel.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/testApp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('start-up names the panel address', () => {
  let t: TestApp;
  beforeAll(async () => {
    execFileSync('npm', ['run', '-s', 'build:web'], { cwd: ROOT, stdio: 'ignore' });
    t = await startTestApp();
  });
  afterAll(async () => t?.stop());

  it('ends with “the web panel is at <url>”, and the URL answers with the panel', async () => {
    const lines = t.app.context.logs.recent();
    const last = lines[lines.length - 1]!;
    const url = /^the web panel is at (http:\/\/\S+\/)$/.exec(last.msg)?.[1];
    expect(url, last.msg).toBeDefined();
    expect(new URL(url!).port).toBe(String(t.port));
    const res = await fetch(url!);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<html');
  });
});

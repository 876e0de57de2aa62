import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configFromEnv, loadConfig } from '../../src/config/load.js';
import { thrownBy } from '../helpers/thrown.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'sb-config-'));

const configError = (fn: () => unknown) => thrownBy(ConfigError, fn);

describe('config', () => {
  it('has a default for every key', () => {
    const c = loadConfig({ argv: [], env: {} });
    expect(c.http_port).toBe(2000);
    expect(c.monitor_port).toBe(5000);
    expect(c.data_dir).toBe('./data');
    expect(c.mqtt.url).toBe('embedded');
    expect(c.mqtt.discovery_prefix).toBe('homeassistant');
    expect(c.admin_username).toBe('admin');
    expect(c.admin_password).toBeUndefined();
    expect(c.monitors.open_registration).toBe(false);
  });

  it('merges defaults < YAML file < options.json (add-on) < environment', () => {
    const dir = tmp();
    const yamlFile = join(dir, 'switchboard.yaml');
    writeFileSync(yamlFile, 'http_port: 2100\nmonitor_port: 5100\nlog_level: debug\nmqtt:\n  base_topic: fromyaml\n  discovery_prefix: ha\n');
    const options = join(dir, 'options.json');
    writeFileSync(options, JSON.stringify({ monitor_port: 5200, mqtt: { base_topic: 'fromoptions', username: '' } }));

    const fileOnly = loadConfig({ argv: ['--config', yamlFile], env: {} });
    expect(fileOnly).toMatchObject({ http_port: 2100, monitor_port: 5100, log_level: 'debug', mqtt: { base_topic: 'fromyaml', discovery_prefix: 'ha' } });

    // options.json counts only under the Supervisor; it also switches the add-on defaults on.
    const addon = loadConfig({ argv: ['--config', yamlFile], env: { SUPERVISOR_TOKEN: 'x' }, optionsPath: options });
    expect(addon).toMatchObject({ http_port: 2100, monitor_port: 5200, data_dir: '/data', mqtt: { url: 'auto', base_topic: 'fromoptions', discovery_prefix: 'ha' } });
    expect(addon.mqtt.username).toBeUndefined(); // empty strings from the HA UI mean "unset"

    const all = loadConfig({
      argv: [],
      env: { SWITCHBOARD_CONFIG: yamlFile, SUPERVISOR_TOKEN: 'x', SWITCHBOARD_OPTIONS_PATH: options, SWITCHBOARD_MONITOR_PORT: '5300', SWITCHBOARD_MQTT_BASE_TOPIC: 'fromenv' },
    });
    expect(all).toMatchObject({ http_port: 2100, monitor_port: 5300, mqtt: { base_topic: 'fromenv' } });
  });

  it('maps SWITCHBOARD_* variables onto nested keys by walking the schema', () => {
    expect(
      configFromEnv({
        SWITCHBOARD_HTTP_PORT: '2001',
        SWITCHBOARD_DATA_DIR: '/tmp/x',
        SWITCHBOARD_ADMIN_USERNAME: 'root',
        SWITCHBOARD_ADMIN_PASSWORD: 'secret-password',
        SWITCHBOARD_MQTT_URL: 'mqtt://broker:1883',
        SWITCHBOARD_MQTT_EMBEDDED_PORT: '1999',
        SWITCHBOARD_MONITORS_OPEN_REGISTRATION: 'true',
        SWITCHBOARD_CAMERAS_DEVICES: '/dev/video0,/dev/video2',
        OTHER: 'ignored',
      }),
    ).toEqual({
      http_port: 2001,
      data_dir: '/tmp/x',
      admin_username: 'root',
      admin_password: 'secret-password',
      mqtt: { url: 'mqtt://broker:1883', embedded_port: 1999 },
      monitors: { open_registration: true },
      cameras: { devices: ['/dev/video0', '/dev/video2'] },
    });
  });

  it('names the key and the problem when config is invalid', () => {
    expect(configError(() => loadConfig({ argv: [], env: { SWITCHBOARD_HTTP_PORT: 'eighty' } })).message).toMatch(/SWITCHBOARD_HTTP_PORT: expected a number/);
    expect(configError(() => loadConfig({ argv: [], env: { SWITCHBOARD_HTTP_PORT: '70000' } })).problems).toEqual([
      { key: 'http_port', problem: expect.stringMatching(/less than or equal to 65535/) },
    ]);
    expect(configError(() => loadConfig({ argv: [], env: { SWITCHBOARD_NOPE: '1' } })).message).toMatch(/SWITCHBOARD_NOPE: no such config key/);
    expect(configError(() => loadConfig({ argv: [], env: { SWITCHBOARD_MQTT_URL: 'http://x' } })).problems[0]).toMatchObject({ key: 'mqtt.url' });
    expect(configError(() => loadConfig({ argv: [], env: { SWITCHBOARD_ADMIN_PASSWORD: 'short' } })).problems[0]).toEqual({ key: 'admin_password', problem: 'must be at least 8 characters' });
    expect(configError(() => loadConfig({ argv: [], env: { SWITCHBOARD_RECORDING_TRIGGER: 'sometimes' } })).problems[0]).toMatchObject({ key: 'recording.trigger', problem: expect.stringMatching(/manual.*continuous.*motion/) });

    const dir = tmp();
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'http_port: 1\nmqtt:\n  typo_key: 1\n');
    expect(configError(() => loadConfig({ argv: ['--config', bad], env: {} })).problems).toEqual([{ key: 'mqtt.typo_key', problem: 'unknown key' }]);
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'http_port: [1,\n');
    expect(configError(() => loadConfig({ argv: ['--config', broken], env: {} })).message).toMatch(/invalid YAML/);
    expect(configError(() => loadConfig({ argv: ['--config', join(dir, 'missing.yaml')], env: {} })).message).toMatch(/not found/);
  });

  it('exits non-zero with the message when the process starts with bad config', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, SWITCHBOARD_HTTP_PORT: '-5', SWITCHBOARD_DATA_DIR: tmp() },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/http_port: Number must be greater than or equal to 0/);
  });
});

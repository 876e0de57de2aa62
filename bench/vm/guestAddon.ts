// The add-on as the VM guests start it (bench/vm/guest.ts, test/vm/guestLoopback.ts): the bundled
// server on loopback, MQTT and Home Assistant off, real V4L2 devices only, ffmpeg from /usr/bin.
export function guestAddonEnv(adminPassword: string, more: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    SWITCHBOARD_DATA_DIR: '/tmp/switchboard',
    SWITCHBOARD_HTTP_HOST: '127.0.0.1',
    SWITCHBOARD_HTTP_PORT: '2000',
    SWITCHBOARD_MONITOR_PORT: '2001',
    SWITCHBOARD_MQTT_URL: 'disabled',
    SWITCHBOARD_HOMEASSISTANT_ENABLED: 'false',
    SWITCHBOARD_ADMIN_PASSWORD: adminPassword,
    SWITCHBOARD_CAMERAS_SIMULATED: 'never',
    PATH: '/usr/bin:/bin',
    ...more,
  };
}

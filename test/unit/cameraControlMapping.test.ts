import { describe, expect, it } from 'vitest';
import { CID, EXPOSURE, deviceToPercent, mapControls, percentToDevice } from '../../src/camera/controlMapping.js';
import type { ControlInfo } from '../../src/camera/driver.js';
import { FLASH_CONTROLS } from '../../src/camera/drivers/simulated/flashControls.js';
import { VIVID_CONTROLS } from '../../src/camera/drivers/simulated/vividControls.js';

const flags = { disabled: false, grabbed: false, readOnly: false, update: false, inactive: false, slider: false, writeOnly: false, volatile: false, hasPayload: false };
const ctrl = (id: number, key: string, type: ControlInfo['type'], minimum: number, maximum: number, step = 1, extra: Partial<ControlInfo> = {}): ControlInfo => ({
  id, key, name: key, type, minimum, maximum, step, default: minimum, flags, ...extra,
});

describe('0–100 scaling', () => {
  const ranges = [
    { minimum: 0, maximum: 255, step: 1 },
    { minimum: -128, maximum: 128, step: 1 },
    { minimum: 0, maximum: 15, step: 1 },
    { minimum: -64, maximum: 64, step: 1 },
    { minimum: 1, maximum: 7, step: 2 },
    { minimum: 0, maximum: 10000, step: 10 },
    { minimum: -2147483648, maximum: 2147483647, step: 1 },
  ];

  it.each(ranges)('maps the edges exactly for %o', (r) => {
    expect(percentToDevice(0, r)).toBe(r.minimum);
    expect(percentToDevice(100, r)).toBe(r.maximum);
    expect(deviceToPercent(r.minimum, r)).toBe(0);
    expect(deviceToPercent(r.maximum, r)).toBe(100);
  });

  it.each(ranges)('stays in range and on the step for every percent (%o)', (r) => {
    for (let p = 0; p <= 100; p++) {
      const v = percentToDevice(p, r);
      expect(v).toBeGreaterThanOrEqual(r.minimum);
      expect(v).toBeLessThanOrEqual(r.maximum);
      if (p < 100) expect((v - r.minimum) % r.step).toBe(0);
    }
  });

  it('round-trips every percent on ranges finer than 100 steps', () => {
    for (const r of [ranges[0]!, ranges[1]!, ranges[5]!, ranges[6]!]) {
      for (let p = 0; p <= 100; p++) expect(deviceToPercent(percentToDevice(p, r), r)).toBe(p);
    }
  });

  it('rounds to the nearest device value and back to the nearest percent', () => {
    const r = { minimum: 0, maximum: 255, step: 1 };
    expect(percentToDevice(50, r)).toBe(128); // 127.5 rounds up
    expect(percentToDevice(75, r)).toBe(191); // 191.25
    expect(deviceToPercent(128, r)).toBe(50);
    expect(deviceToPercent(200, r)).toBe(78); // 78.43
    const coarse = { minimum: 0, maximum: 15, step: 1 };
    expect(percentToDevice(50, coarse)).toBe(8);
    expect(deviceToPercent(8, coarse)).toBe(53);
  });

  it('clamps out-of-range inputs and degenerate ranges', () => {
    const r = { minimum: 10, maximum: 20, step: 1 };
    expect(percentToDevice(-5, r)).toBe(10);
    expect(percentToDevice(150, r)).toBe(20);
    expect(deviceToPercent(5, r)).toBe(0);
    expect(deviceToPercent(25, r)).toBe(100);
    expect(percentToDevice(50, { minimum: 3, maximum: 3, step: 1 })).toBe(3);
    expect(deviceToPercent(3, { minimum: 3, maximum: 3 })).toBe(0);
  });
});

describe('control mapping', () => {
  it('maps vivid: brightness/contrast/saturation/hue/gain, auto exposure on gain_automatic, nothing else', () => {
    const m = mapControls(VIVID_CONTROLS);
    expect(Object.keys(m.image).sort()).toEqual(['auto-exposure', 'brightness', 'contrast', 'gain', 'hue', 'saturation']);
    expect(m.image.brightness?.control.key).toBe('brightness');
    // Hue is signed around 0: 50 is its default, the edges its minimum and maximum.
    const hue = m.image.hue!.control;
    expect([hue.id, hue.minimum, hue.maximum, hue.default]).toEqual([CID.HUE, -128, 128, 0]);
    expect([percentToDevice(0, hue), percentToDevice(50, hue), percentToDevice(100, hue), deviceToPercent(hue.default, hue)]).toEqual([-128, 0, 128, 50]);
    expect(m.image['auto-exposure']?.control.key).toBe('gain_automatic');
    expect(m.light).toBeUndefined();
    expect(m.lightLevel).toBeUndefined();
  });

  it('maps a UVC-style camera: exposure menu (aperture priority), white balance, red/blue balance, sharpness, LED', () => {
    const controls = [
      ctrl(CID.SHARPNESS, 'sharpness', 'integer', 0, 7),
      ctrl(CID.RED_BALANCE, 'red_balance', 'integer', 0, 4095),
      ctrl(CID.BLUE_BALANCE, 'blue_balance', 'integer', 0, 4095),
      ctrl(CID.AUTO_WHITE_BALANCE, 'white_balance_automatic', 'boolean', 0, 1),
      ctrl(CID.EXPOSURE_AUTO, 'auto_exposure', 'menu', 0, 3, 1, { menu: [{ index: 1, name: 'Manual Mode' }, { index: 3, name: 'Aperture Priority Mode' }] }),
      ctrl(CID.AUTOGAIN, 'gain_automatic', 'boolean', 0, 1),
      ctrl(0x0a046d05, 'led1_mode', 'boolean', 0, 1),
      ctrl(0x0a046d06, 'noise_reduction', 'boolean', 0, 1),
      ctrl(CID.CONTRAST, 'contrast', 'integer', 0, 255, 1, { flags: { ...flags, readOnly: true } }),
    ];
    const m = mapControls(controls);
    const ae = m.image['auto-exposure'];
    expect(ae?.kind === 'switch' && ae.control.key).toBe('auto_exposure');
    expect(ae?.kind === 'switch' && [ae.on, ae.off, ae.isOn(EXPOSURE.APERTURE_PRIORITY), ae.isOn(EXPOSURE.MANUAL)]).toEqual([EXPOSURE.APERTURE_PRIORITY, EXPOSURE.MANUAL, true, false]);
    expect(m.image['auto-white-balance']?.control.key).toBe('white_balance_automatic');
    expect(m.image['red-gain']?.control.key).toBe('red_balance');
    expect(m.image['blue-gain']?.control.key).toBe('blue_balance');
    expect(m.image.sharpness?.control.key).toBe('sharpness');
    expect(m.image['noise-supression']?.control.key).toBe('noise_reduction');
    expect(m.image.contrast).toBeUndefined(); // read-only controls are not settings
    expect(m.light?.control.key).toBe('led1_mode');
    expect(m.lightLevel).toBeUndefined();
  });

  it('prefers full auto exposure when the menu offers it, and a flash LED in torch mode as the light', () => {
    const m = mapControls([
      ctrl(CID.EXPOSURE_AUTO, 'auto_exposure', 'menu', 0, 3, 1, { menu: [0, 1, 2, 3].map((index) => ({ index, name: String(index) })) }),
      ctrl(CID.FLASH_LED_MODE, 'led_mode', 'menu', 0, 2, 1, { menu: [0, 1, 2].map((index) => ({ index, name: String(index) })) }),
    ]);
    const ae = m.image['auto-exposure'];
    expect(ae?.kind === 'switch' && ae.on).toBe(EXPOSURE.AUTO);
    expect(m.light && [m.light.on, m.light.off, m.light.isOn(2), m.light.isOn(1)]).toEqual([2, 0, true, false]);
  });

  describe('light levels', () => {
    const menu = (items: number[]) => ({ menu: items.map((index) => ({ index, name: String(index) })) });

    it('maps the torch intensity beside a flash LED with a torch mode as the light level', () => {
      const m = mapControls([
        ctrl(CID.FLASH_LED_MODE, 'led_mode', 'menu', 0, 2, 1, menu([0, 1, 2])),
        ctrl(CID.FLASH_TORCH_INTENSITY, 'intensity_torch_mode', 'integer', 50, 155, 15),
      ]);
      expect(m.light?.control.id).toBe(CID.FLASH_LED_MODE);
      expect(m.lightLevel?.control.id).toBe(CID.FLASH_TORCH_INTENSITY);
    });

    it('maps the simulated LED flash (vivid plus flash controls) the same way', () => {
      const m = mapControls([...VIVID_CONTROLS, ...FLASH_CONTROLS]);
      expect([m.light?.control.key, m.lightLevel?.control.key]).toEqual(['led_mode', 'intensity_torch_mode']);
      expect(Object.keys(m.image).sort()).toEqual(['auto-exposure', 'brightness', 'contrast', 'gain', 'hue', 'saturation']);
    });

    it('has no level without a torch mode, or when the torch intensity cannot be set', () => {
      expect(mapControls([ctrl(CID.FLASH_TORCH_INTENSITY, 'intensity_torch_mode', 'integer', 50, 155, 15)])).toEqual({ image: {} });
      const flashOnly = mapControls([ctrl(CID.FLASH_LED_MODE, 'led_mode', 'menu', 0, 1, 1, menu([0, 1])), ctrl(CID.FLASH_TORCH_INTENSITY, 'intensity_torch_mode', 'integer', 50, 155, 15)]);
      expect([flashOnly.light, flashOnly.lightLevel]).toEqual([undefined, undefined]);
      const readOnly = mapControls([
        ctrl(CID.FLASH_LED_MODE, 'led_mode', 'menu', 0, 2, 1, menu([0, 1, 2])),
        ctrl(CID.FLASH_TORCH_INTENSITY, 'intensity_torch_mode', 'integer', 50, 155, 15, { flags: { ...flags, readOnly: true } }),
      ]);
      expect(readOnly.light?.control.key).toBe('led_mode');
      expect(readOnly.lightLevel).toBeUndefined();
      const fixed = mapControls([ctrl(CID.FLASH_LED_MODE, 'led_mode', 'menu', 0, 2, 1, menu([0, 1, 2])), ctrl(CID.FLASH_TORCH_INTENSITY, 'intensity_torch_mode', 'integer', 100, 100, 1)]);
      expect(fixed.lightLevel).toBeUndefined();
    });

    it('maps a vendor LED brightness beside a vendor LED switch: the switch switches, the integer is the level', () => {
      const m = mapControls([ctrl(0x0a046d05, 'led1_mode', 'boolean', 0, 1), ctrl(0x0a046d07, 'led1_brightness', 'integer', 0, 255)]);
      expect([m.light?.control.key, m.lightLevel?.control.key]).toEqual(['led1_mode', 'led1_brightness']);
      expect(m.light && [m.light.on, m.light.off]).toEqual([1, 0]);
    });

    it('makes a lone integer light control both switch and level: its minimum is off', () => {
      for (const key of ['light', 'lamp_intensity', 'led_level', 'torch']) {
        const m = mapControls([ctrl(0x0a046d10, key, 'integer', 0, 100)]);
        expect(m.lightLevel?.control.key, key).toBe(key);
        expect(m.light?.control.key, key).toBe(key);
        expect(m.light && [m.light.off, m.light.isOn(0), m.light.isOn(1), m.light.isOn(100)], key).toEqual([0, false, true, true]);
      }
    });

    it('does not take other integer LED controls for a level (UVC "LED1 Frequency" is a blink rate)', () => {
      const m = mapControls([ctrl(0x0a046d05, 'led1_mode', 'boolean', 0, 1), ctrl(0x0a046d06, 'led1_frequency', 'integer', 0, 255)]);
      expect(m.light?.control.key).toBe('led1_mode');
      expect(m.lightLevel).toBeUndefined();
      // "brightness" alone is the image setting, not a light.
      expect(mapControls([ctrl(0x0a046d11, 'backlight_compensation', 'integer', 0, 2)]).lightLevel).toBeUndefined();
    });
  });
});

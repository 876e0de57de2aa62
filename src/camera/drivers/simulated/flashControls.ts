// The flash controls of an LED flash driver (V4L2 flash class, linux/v4l2-controls.h), modelled on
// adp1653: LED mode with a torch, and the torch's intensity in mA on the chip's 15 mA steps. vivid
// has no flash, so the simulated driver adds these only when asked (SimulatedDriverOptions.flash):
// a camera light with levels, testable without hardware. Data only.
import { controlsOf, initialValuesOf, named, type Row } from './vividControls.js';

const ROWS: Row[] = [
  { id: 0x009c0001, name: 'Flash Controls', key: 'flash_controls', type: 'ctrl_class', flags: { readOnly: true, writeOnly: true } },
  { id: 0x009c0901, name: 'LED Mode', key: 'led_mode', type: 'menu', min: 0, max: 2, step: 1, def: 0, menu: named([[0, 'Off'], [1, 'Flash'], [2, 'Torch']]) },
  { id: 0x009c0903, name: 'Strobe', key: 'strobe', type: 'button', min: 0, max: 0, step: 0, def: 0, flags: { writeOnly: true } },
  { id: 0x009c0907, name: 'Intensity, Flash Mode', key: 'intensity_flash_mode', type: 'integer', min: 215, max: 500, step: 15, def: 500 },
  { id: 0x009c0908, name: 'Intensity, Torch Mode', key: 'intensity_torch_mode', type: 'integer', min: 50, max: 155, step: 15, def: 155 },
  { id: 0x009c090a, name: 'Faults', key: 'faults', type: 'bitmask', min: 0, max: 0x3ff, step: 0, def: 0, flags: { readOnly: true, volatile: true } },
];

export const FLASH_CONTROLS = controlsOf(ROWS);
export const FLASH_INITIAL_VALUES = initialValuesOf(ROWS);

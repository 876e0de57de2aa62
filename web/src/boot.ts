// What the server put into index.html for this request (src/protocols/http/panel.ts, PanelBoot).
import type { PanelBoot } from '../../src/protocols/http/panel.js';

export type Boot = PanelBoot;

declare global {
  interface Window {
    __SWITCHBOARD__?: Partial<Boot>;
  }
}

export function readBoot(): Boot {
  const b = window.__SWITCHBOARD__ ?? {};
  return {
    base: typeof b.base === 'string' ? b.base : '',
    ingress: b.ingress === true,
    version: typeof b.version === 'string' ? b.version : '',
    monitorPort: typeof b.monitorPort === 'number' ? b.monitorPort : null,
  };
}

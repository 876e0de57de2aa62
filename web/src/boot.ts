// What the server put into index.html for this request (src/protocols/http/panel.ts, PanelBoot).
export interface Boot {
  /** '' on the direct port, the ingress prefix (no trailing '/') under Home Assistant. */
  base: string;
  ingress: boolean;
  version: string;
  monitorPort: number | null;
}

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

// Entry of the card bundle the add-on installs as a dashboard resource: defines the card and its
// editor once (a second copy of the resource must not throw) and lists the card in the picker.
import { SwitchboardCameraCard } from './cameraCard.js';
import { SwitchboardCameraCardEditor } from './cardEditor.js';

declare const SWITCHBOARD_VERSION: string;

interface CustomCardEntry {
  type: string;
  name: string;
  description?: string;
  preview?: boolean;
  documentationURL?: string;
}

declare global {
  interface Window {
    customCards?: CustomCardEntry[];
  }
}

if (!customElements.get('switchboard-camera-card')) {
  customElements.define('switchboard-camera-card', SwitchboardCameraCard);
  customElements.define('switchboard-camera-card-editor', SwitchboardCameraCardEditor);
  window.customCards = window.customCards ?? [];
  window.customCards.push({
    type: 'switchboard-camera-card',
    name: 'Switchboard camera',
    description: 'A Switchboard camera: live view or picture, stream, snapshot, light, recording, motion and image settings.',
    preview: true,
    documentationURL: 'https://github.com/switchboard-ha/switchboard/blob/main/DOCS.md#camera-card',
  });
  console.info(`%c SWITCHBOARD-CAMERA-CARD %c ${SWITCHBOARD_VERSION} `, 'color:#fff;background:#009ac7', '');
}

// The card's look, from HA's theme variables (with HA's default values as fallbacks), so it follows
// the user's theme, light or dark.
import { css } from 'lit';

export const cardStyles = css`
  :host {
    display: block;
  }
  ha-card {
    display: block;
    overflow: hidden;
    padding-bottom: 12px;
    background: var(--ha-card-background, var(--card-background-color, #fff));
    color: var(--primary-text-color, #141414);
    border-radius: var(--ha-card-border-radius, 12px);
    border: var(--ha-card-border-width, 1px) solid var(--ha-card-border-color, var(--divider-color, #e0e0e0));
    box-shadow: var(--ha-card-box-shadow, none);
    font-family: var(--ha-font-family-body, var(--paper-font-body1_-_font-family, Roboto, Noto, sans-serif));
  }
  .header {
    display: flex;
    align-items: center;
    justify-content: space-between;
    gap: 8px;
    padding: 12px 16px 8px;
  }
  .name {
    margin: 0;
    font-size: var(--ha-card-header-font-size, 1.25rem);
    font-weight: 500;
    line-height: 1.3;
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
  }
  .badge {
    flex: none;
    font-size: 0.8rem;
    padding: 2px 10px;
    border-radius: 12px;
    border: 1px solid var(--divider-color, #e0e0e0);
    color: var(--secondary-text-color, #727272);
  }
  .badge.motion {
    background: var(--error-color, #db4437);
    border-color: var(--error-color, #db4437);
    color: var(--text-primary-color, #fff);
    font-weight: 500;
  }
  .notice {
    margin: 0 16px 8px;
    padding: 8px 12px;
    border-radius: 8px;
    border-left: 4px solid var(--info-color, #039be5);
    background: color-mix(in srgb, var(--info-color, #039be5) 12%, transparent);
    line-height: 1.4;
  }
  .notice.warning {
    border-left-color: var(--warning-color, #ffa600);
    background: color-mix(in srgb, var(--warning-color, #ffa600) 14%, transparent);
  }
  .notice.error {
    border-left-color: var(--error-color, #db4437);
    background: color-mix(in srgb, var(--error-color, #db4437) 12%, transparent);
  }
  .media {
    position: relative;
    background: #000;
    aspect-ratio: 16 / 9;
  }
  .media img,
  .media ha-camera-stream {
    display: block;
    width: 100%;
    height: 100%;
    object-fit: contain;
  }
  .placeholder {
    height: 100%;
    display: flex;
    flex-direction: column;
    align-items: center;
    justify-content: center;
    gap: 4px;
    color: #bdbdbd;
    background: var(--secondary-background-color, #e5e5e5);
  }
  ha-card.light .placeholder {
    color: var(--secondary-text-color, #727272);
  }
  .facts {
    display: flex;
    flex-wrap: wrap;
    gap: 4px 16px;
    padding: 8px 16px 0;
    color: var(--secondary-text-color, #727272);
    font-size: 0.9rem;
  }
  .actions {
    display: grid;
    grid-template-columns: repeat(auto-fit, minmax(84px, 1fr));
    gap: 8px;
    padding: 12px 16px 0;
  }
  button {
    display: flex;
    flex-direction: column;
    align-items: center;
    justify-content: center;
    gap: 2px;
    min-height: 48px;
    padding: 6px 4px;
    font: inherit;
    font-size: 0.85rem;
    color: var(--primary-text-color, #141414);
    background: var(--secondary-background-color, #e5e5e5);
    border: 1px solid transparent;
    border-radius: 10px;
    cursor: pointer;
  }
  button.on {
    background: var(--primary-color, #009ac7);
    color: var(--text-primary-color, #fff);
  }
  button:hover:not([disabled]) {
    border-color: var(--primary-color, #009ac7);
  }
  button:focus-visible,
  summary:focus-visible,
  input:focus-visible,
  select:focus-visible {
    outline: 2px solid var(--primary-color, #009ac7);
    outline-offset: 2px;
  }
  button[disabled] {
    opacity: 0.45;
    cursor: not-allowed;
  }
  ha-icon {
    --mdc-icon-size: 22px;
  }
  .controls {
    margin: 12px 16px 0;
    border-top: 1px solid var(--divider-color, #e0e0e0);
  }
  summary {
    padding: 10px 0 4px;
    cursor: pointer;
    font-weight: 500;
  }
  .grid {
    display: grid;
    grid-template-columns: repeat(auto-fill, minmax(220px, 1fr));
    gap: 8px 24px;
    padding-top: 4px;
  }
  label {
    display: grid;
    grid-template-columns: 7.5em 1fr 3.5em;
    align-items: center;
    gap: 8px;
    font-size: 0.9rem;
  }
  output {
    text-align: right;
    color: var(--secondary-text-color, #727272);
  }
  input[type='range'] {
    width: 100%;
    accent-color: var(--primary-color, #009ac7);
  }
  select {
    grid-column: 2 / 4;
    font: inherit;
    padding: 4px;
    color: var(--primary-text-color, #141414);
    background: var(--card-background-color, #fff);
    border: 1px solid var(--divider-color, #e0e0e0);
    border-radius: 6px;
  }
`;

export const editorStyles = css`
  :host {
    display: block;
  }
  label {
    display: grid;
    gap: 4px;
    margin-bottom: 12px;
    color: var(--primary-text-color, #141414);
  }
  select,
  input {
    font: inherit;
    padding: 8px;
    color: var(--primary-text-color, #141414);
    background: var(--card-background-color, #fff);
    border: 1px solid var(--divider-color, #e0e0e0);
    border-radius: 6px;
  }
  p {
    color: var(--secondary-text-color, #727272);
    margin: 0 0 8px;
  }
`;

// What every panel page provides to the shell.
export interface Page {
  readonly id: string;
  readonly title: string;
  readonly el: HTMLElement;
  /** Called when the page becomes visible (start streams, refresh). */
  show(): void;
  /** Called when another page is shown (stop streams and polling). */
  hide(): void;
}

// Small forms of the management pages: labelled fields, a submit button that shows it is working,
// and a status line that says what happened in words (the server's own error message on failure).
import { clear, h, spinner } from './dom.js';
import { describe } from './errors.js';

export function field(label: string, input: HTMLElement): HTMLElement {
  return h('label', { class: 'field' }, h('span', {}, label), input);
}

export interface Form {
  el: HTMLFormElement;
  status: HTMLElement;
  say(text: string, tone?: 'ok' | 'error'): void;
}

/**
 * A form whose submit runs `action`; while it runs the button is disabled. `action` answers the
 * sentence to show on success; a thrown error is shown as the server said it.
 */
export function actionForm(opts: { label: string; submit: string; fields: HTMLElement[]; action: () => Promise<string> }): Form {
  const button = h('button', { type: 'submit', class: 'primary' }, opts.submit);
  const status = h('p', { class: 'status', role: 'status' });
  const el = h('form', { class: 'form', 'aria-label': opts.label }, ...opts.fields, h('div', { class: 'actions' }, button), status);
  const say = (text: string, tone?: 'ok' | 'error') => {
    clear(status, text);
    status.className = `status${tone ? ` ${tone}` : ''}`;
  };
  el.addEventListener('submit', (ev) => {
    ev.preventDefault();
    button.disabled = true;
    clear(status, spinner(), ' Working…');
    status.className = 'status';
    opts
      .action()
      .then((done) => say(done, 'ok'))
      .catch((err: unknown) => say(describe(err), 'error'))
      .finally(() => {
        button.disabled = false;
      });
  });
  return { el, status, say };
}

/** Runs a button's action with the same feedback as a form (for per-row buttons). */
export async function buttonAction(button: HTMLButtonElement, status: HTMLElement, action: () => Promise<string>): Promise<void> {
  button.disabled = true;
  clear(status, spinner(), ' Working…');
  status.className = 'status';
  try {
    clear(status, await action());
    status.className = 'status ok';
  } catch (err) {
    clear(status, describe(err));
    status.className = 'status error';
  } finally {
    button.disabled = false;
  }
}

/**
 * A delete button that asks by its own label first ("Really delete?"), then runs `action` with the
 * same feedback as buttonAction: a deletion cannot be undone, and a dialog would block the page.
 */
export function deleteButton(opts: { label: string; confirm: string; status: HTMLElement; hidden?: boolean; action: () => Promise<string> }): HTMLButtonElement {
  const button = h('button', { type: 'button', hidden: opts.hidden === true }, opts.label);
  let armed = false;
  button.addEventListener('click', () => {
    if (!armed) {
      armed = true;
      button.textContent = opts.confirm;
      return;
    }
    armed = false;
    button.textContent = opts.label;
    void buttonAction(button, opts.status, opts.action);
  });
  return button;
}

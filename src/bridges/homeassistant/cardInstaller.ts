// Installs the Switchboard camera card into Home Assistant: copies the bundled module into HA's
// `www/switchboard/` (served at /local/) and keeps exactly one Lovelace resource pointing at it,
// with the add-on version as `?v=` so browsers fetch a new card after an upgrade. Resource CRUD
// exists only in HA's storage resource mode; in YAML mode the user is told what to add.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ComponentState, StatusService } from '../../services/system/statusService.js';

const CARD_FILE = 'switchboard-camera-card.js';
const CARD_PATH = `/local/switchboard/${CARD_FILE}`;
export const cardResourceUrl = (version: string) => `${CARD_PATH}?v=${encodeURIComponent(version)}`;

const RESTART_NOTICE = 'switchboard_card_restart';
const YAML_NOTICE = 'switchboard_card_resource';

/** One websocket command to HA (conn.sendMessagePromise); rejects with HA's `{code, message}`. */
export type HaCommand = <T>(msg: { type: string } & Record<string, unknown>) => Promise<T>;
/** persistent_notification.create/dismiss; resolves false when it could not be sent. */
export type NoticeSender = (service: 'create' | 'dismiss', data: Record<string, string>) => Promise<boolean>;

interface LovelaceResource {
  id: string;
  type: string;
  url: string;
}

export type CardInstallOutcome = 'created' | 'updated' | 'unchanged' | 'yaml_mode' | 'no_config_dir' | 'failed';

export interface CardInstallerDeps {
  /** HA's config folder as mounted in the add-on (`homeassistant_config` → /homeassistant). */
  configDir: string;
  /** The built card module (card/dist/switchboard-camera-card.js). */
  bundlePath: string;
  version: string;
  /** Reports the outcome as component `card` (GET /api/health). */
  status: StatusService;
  logger: Logger;
}

const OUTCOME_STATUS: Record<CardInstallOutcome, [ComponentState, string]> = {
  created: ['ok', 'dashboard resource created'],
  updated: ['ok', 'dashboard resource updated'],
  unchanged: ['ok', 'dashboard resource up to date'],
  yaml_mode: ['disabled', 'dashboard resources are in YAML: add the resource by hand (see the notification)'],
  no_config_dir: ['disabled', 'Home Assistant config folder not mapped'],
  failed: ['error', 'installation failed (see the log)'],
};

const isUnknownCommand = (err: unknown) => typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'unknown_command';
const describe = (err: unknown) => (typeof err === 'object' && err !== null && 'message' in err ? String((err as { message: unknown }).message) : String(err));

export class CardInstaller {
  private fileWritten = false;
  private yamlNoticeRaised = false;

  constructor(private readonly deps: CardInstallerDeps) {}

  /** Runs on every (re)connection to HA; does nothing when file and resource are already right. */
  async install(send: HaCommand, notify: NoticeSender): Promise<CardInstallOutcome> {
    const outcome = await this.attempt(send, notify);
    const [state, detail] = OUTCOME_STATUS[outcome];
    this.deps.status.setComponent('card', state, `${detail}: ${cardResourceUrl(this.deps.version)}`);
    return outcome;
  }

  private async attempt(send: HaCommand, notify: NoticeSender): Promise<CardInstallOutcome> {
    const { logger } = this.deps;
    try {
      if (!this.fileWritten) {
        if (!existsSync(this.deps.configDir)) {
          logger.warn({ config_dir: this.deps.configDir }, 'Home Assistant config folder not found (is homeassistant_config mapped?); the camera card is not installed');
          return 'no_config_dir';
        }
        const createdWww = await this.writeBundle();
        this.fileWritten = true;
        if (createdWww) {
          logger.warn('created www/ in the Home Assistant config folder; Home Assistant serves /local/ only after one restart');
          await notify('create', {
            notification_id: RESTART_NOTICE,
            title: 'Switchboard: restart Home Assistant once',
            message: 'Switchboard installed its camera card into a new `www` folder. Home Assistant serves that folder (`/local/`) only after a restart, so restart Home Assistant once before adding the card to a dashboard.',
          });
        }
      }
      return await this.registerResource(send, notify);
    } catch (err) {
      logger.error({ err: describe(err) }, 'could not install the camera card');
      return 'failed';
    }
  }

  /** Copies the bundle (temp file + rename, only when it differs); true when www/ had to be created. */
  private async writeBundle(): Promise<boolean> {
    const www = join(this.deps.configDir, 'www');
    const createdWww = !existsSync(www);
    const dir = join(www, 'switchboard');
    await mkdir(dir, { recursive: true });
    const bundle = await readFile(this.deps.bundlePath);
    const target = join(dir, CARD_FILE);
    const current = await readFile(target).catch(() => null);
    if (current?.equals(bundle)) return createdWww;
    const tmp = `${target}.tmp-${process.pid}`;
    await writeFile(tmp, bundle);
    await rename(tmp, target);
    this.deps.logger.info({ path: target, version: this.deps.version }, 'camera card written');
    return createdWww;
  }

  private async registerResource(send: HaCommand, notify: NoticeSender): Promise<CardInstallOutcome> {
    const { logger, version } = this.deps;
    const url = cardResourceUrl(version);
    const mode = await send<{ resource_mode?: string }>({ type: 'lovelace/info' }).then(
      (info) => info.resource_mode,
      // HA before lovelace/info: find out from the create/update answer below.
      (err: unknown) => (isUnknownCommand(err) ? undefined : Promise.reject(err)),
    );
    const resources = await send<LovelaceResource[]>({ type: 'lovelace/resources' });
    const ours = resources.filter((r) => r.url.split('?')[0] === CARD_PATH);
    const current = ours.find((r) => r.url === url && r.type === 'module');
    if (mode === 'yaml') return this.yamlMode(notify, url, current !== undefined);
    try {
      if (ours.length === 0) {
        await send({ type: 'lovelace/resources/create', res_type: 'module', url });
        logger.info({ url }, 'camera card registered as a dashboard resource');
        return await this.resolved(notify, 'created');
      }
      const keep = current ?? ours[0]!;
      // Exactly one: extra copies (a manual add next to ours) would load the card twice.
      for (const extra of ours) if (extra !== keep) await send({ type: 'lovelace/resources/delete', resource_id: extra.id });
      if (keep === current) return await this.resolved(notify, ours.length > 1 ? 'updated' : 'unchanged');
      await send({ type: 'lovelace/resources/update', resource_id: keep.id, res_type: 'module', url });
      logger.info({ url, was: keep.url }, 'camera card resource updated');
      return await this.resolved(notify, 'updated');
    } catch (err) {
      if (isUnknownCommand(err)) return this.yamlMode(notify, url, current !== undefined);
      throw err;
    }
  }

  private async resolved(notify: NoticeSender, outcome: CardInstallOutcome): Promise<CardInstallOutcome> {
    if (this.yamlNoticeRaised && (await notify('dismiss', { notification_id: YAML_NOTICE }))) this.yamlNoticeRaised = false;
    return outcome;
  }

  /** YAML resources can't be changed over the websocket: tell the user the exact lines, unless they are there. */
  private async yamlMode(notify: NoticeSender, url: string, present: boolean): Promise<CardInstallOutcome> {
    if (present) return this.resolved(notify, 'unchanged');
    const lines = `lovelace:\n  resources:\n    - url: ${url}\n      type: module`;
    this.deps.logger.warn({ url }, `Home Assistant keeps dashboard resources in YAML; add this to configuration.yaml to use the camera card:\n${lines}`);
    if (await notify('create', { notification_id: YAML_NOTICE, title: 'Switchboard: add the camera card resource', message: `Your dashboard resources are managed in YAML, so Switchboard cannot register its camera card. Add this to \`configuration.yaml\` (replace an older Switchboard line) and restart Home Assistant:\n\n\`\`\`yaml\n${lines}\n\`\`\`` })) {
      this.yamlNoticeRaised = true;
    }
    return 'yaml_mode';
  }
}

// AES-256-GCM for credential secrets at rest. The key lives in <data_dir>/secret.key (0600), apart
// from db.json, so a copied database alone does not reveal client secrets or refresh tokens.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const PREFIX = 'v1:';

export class SecretBox {
  private key: Buffer | null = null;

  constructor(readonly keyPath: string) {}

  static inDir(dataDir: string): SecretBox {
    return new SecretBox(join(dataDir, 'secret.key'));
  }

  /** Reads the key, creating it (0600, exclusive) on first use. */
  private loadKey(): Buffer {
    if (this.key) return this.key;
    let key: Buffer;
    try {
      key = readFileSync(this.keyPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(dirname(this.keyPath), { recursive: true });
      try {
        writeFileSync(this.keyPath, randomBytes(KEY_BYTES), { mode: 0o600, flag: 'wx' });
      } catch (e) {
        // Another process created it between our read and write: use theirs.
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      key = readFileSync(this.keyPath);
    }
    if (key.length !== KEY_BYTES) throw new Error(`${this.keyPath} must hold exactly ${KEY_BYTES} bytes; it holds ${key.length}`);
    this.key = key;
    return key;
  }

  /** `aad` binds the ciphertext to where it is stored (record id + field), so it cannot be moved. */
  seal(plain: string, aad: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.loadKey(), iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  open(sealed: string, aad: string): string {
    if (!sealed.startsWith(PREFIX)) throw new Error('unknown secret format');
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
    const iv = raw.subarray(0, IV_BYTES);
    const tag = raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.loadKey(), iv);
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  }
}

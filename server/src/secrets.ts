/**
 * Secrets that must survive restarts but need not be configured: the player-token key, the admin
 * token and the embedded database's password. Each is taken from the environment when given,
 * otherwise generated once and kept in `DATA_DIR/secrets.json` (mode 0600), so that tokens issued
 * before a restart stay valid after it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

const StoredSecrets = z.object({
  jwtSecret: z.string().min(32),
  adminToken: z.string().min(16),
  databasePassword: z.string().min(16),
});
export type Secrets = z.infer<typeof StoredSecrets>;

function generate(): Secrets {
  return {
    jwtSecret: randomBytes(32).toString('base64url'),
    adminToken: `adm_${randomBytes(24).toString('base64url')}`,
    databasePassword: randomBytes(18).toString('base64url'),
  };
}

/** Reads the stored secrets, creating the file on first use; environment values win. */
export async function loadSecrets(
  dataDir: string,
  overrides: { jwtSecret: string | undefined; adminToken: string | undefined },
): Promise<Secrets & { generated: Array<'jwtSecret' | 'adminToken'> }> {
  const file = path.join(dataDir, 'secrets.json');
  let stored: Secrets;
  try {
    stored = StoredSecrets.parse(JSON.parse(await readFile(file, 'utf8')));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`${file} is unreadable or damaged; fix or remove it (${(error as Error).message})`);
    }
    stored = generate();
    await mkdir(dataDir, { recursive: true, mode: 0o755 });
    const temporary = `${file}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, file);
  }
  const generated: Array<'jwtSecret' | 'adminToken'> = [];
  if (overrides.jwtSecret === undefined) generated.push('jwtSecret');
  if (overrides.adminToken === undefined) generated.push('adminToken');
  return {
    jwtSecret: overrides.jwtSecret ?? stored.jwtSecret,
    adminToken: overrides.adminToken ?? stored.adminToken,
    databasePassword: stored.databasePassword,
    generated,
  };
}

import { readFile, writeFile } from 'node:fs/promises';

/**
 * A secret a local stack makes on its first start and keeps in its data directory, readable by its owner only, so
 * the next start finds the same one (a password, a key).
 */
export async function keptSecret(file: string, make: () => string): Promise<string> {
  const existing = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (existing) return existing;
  const secret = make();
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/**
 * The only variables Chromium gets from the worker's environment. A page is code from the network: a renderer it
 * compromises can read its own environment, and the worker's holds the keyring (ENCRYPTION_KEYS), the database
 * login and the Temporal client's key paths. So Chromium gets an allow-list, never the worker's environment minus
 * known secrets: a secret added to the worker later must not reach it by default.
 */
const PASSED_NAMES = new Set([
  'HOME',
  'PATH',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'DISPLAY',
  'WAYLAND_DISPLAY',
  'FONTCONFIG_FILE',
  'FONTCONFIG_PATH',
  // Where Chromium finds its setuid sandbox helper, when it is not next to the binary.
  'CHROME_DEVEL_SANDBOX',
]);
/** Locale categories (LC_ALL, LC_CTYPE, ...) and the XDG base directories (fonts, caches, the runtime dir). */
const PASSED_PREFIXES = ['LC_', 'XDG_'];

export function chromiumEnvironment(source: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const passed: Record<string, string> = {};
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined) continue;
    if (PASSED_NAMES.has(name) || PASSED_PREFIXES.some((prefix) => name.startsWith(prefix))) passed[name] = value;
  }
  return passed;
}

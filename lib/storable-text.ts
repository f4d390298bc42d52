// PostgreSQL stores neither a NUL character (text) nor half of a surrogate pair (jsonb).
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const EVERY_UNSTORABLE = new RegExp(UNSTORABLE.source, 'g');

/** Whether PostgreSQL would refuse the text. */
export function isUnstorable(text: string): boolean {
  return UNSTORABLE.test(text);
}

/** The text with what PostgreSQL refuses replaced (by U+FFFD unless told otherwise). */
export function storableText(text: string, replacement = '\ufffd'): string {
  return text.replace(EVERY_UNSTORABLE, replacement);
}

/**
 * A WhatsApp phone number as this service stores it: E.164 digits only, 7 to 15 of them, no leading 0 and no `+`.
 * The database checks the same pattern (sql/0001), so a number that passes here is always storable.
 */
export const PHONE_NUMBER_PATTERN = '^[1-9][0-9]{6,14}$';
export const PHONE_NUMBER_RULE = '7 to 15 digits with no leading 0 or +';

const PHONE_NUMBER = new RegExp(PHONE_NUMBER_PATTERN);

export function isPhoneNumber(value: unknown): value is string {
  return typeof value === 'string' && PHONE_NUMBER.test(value);
}

/** A phone number kept recognisable without being spelled out: its last three digits (`…641`). */
export function maskPhoneNumber(text: string): string {
  return `…${text.slice(-3)}`;
}

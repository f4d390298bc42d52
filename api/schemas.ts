import { PHONE_NUMBER_PATTERN } from '../domain/phone-number.js';

/** Path and body fragments shared by several routes; the database enforces the same shapes. */
export const SESSION_ID_PATTERN = '^[A-Za-z0-9_-]{1,100}$';
export const WORKSPACE_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';

export const sessionIdSchema = {
  type: 'string',
  pattern: SESSION_ID_PATTERN,
  description: 'letters, digits, _ and -, at most 100',
} as const;
export const workspaceIdSchema = {
  type: 'string',
  pattern: WORKSPACE_ID_PATTERN,
  description: 'letters, digits, _ and -, at most 64',
} as const;
export const phoneNumberSchema = {
  type: 'string',
  pattern: PHONE_NUMBER_PATTERN,
  description: 'E.164 digits without +, e.g. 62811801641',
} as const;
export const webhookUrlSchema = {
  type: 'string',
  pattern: '^https?://[^\\s]+$',
  maxLength: 2048,
  description: 'http(s) URL that receives signed event POSTs',
} as const;

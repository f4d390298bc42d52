/**
 * The engine layer: one WhatsApp client session, whatever drives it (whatsapp-web.js in Chromium, or the simulated
 * engine). Workflows never see this; host-queue activities in the worker process that owns the session do.
 */

/** Why a session dropped, as the workflow needs to know it: it reconnects, cleans up, or fails accordingly. */
export type DisconnectKind =
  /** Network, browser crash, phone offline: reconnect with the saved auth. */
  | 'transient'
  /** Logged out or unlinked from the phone: the saved auth is worthless, the account ends. */
  | 'logout'
  /** WhatsApp Web was opened elsewhere and took over: keep the auth, take it back later. */
  | 'conflict'
  /** WhatsApp banned the number: the account fails. */
  | 'banned';

export type EngineEvent =
  | { type: 'qr'; qr: string }
  | { type: 'pairing_code'; code: string }
  | { type: 'authenticated' }
  | { type: 'ready' }
  | { type: 'disconnected'; kind: DisconnectKind; reason: string }
  | { type: 'auth_failure'; reason: string };

/** The account's own WhatsApp identity; `id` is a phone number or, on newer accounts, an internal `@lid` id. */
export interface OwnIdentity {
  id: string;
  pushName: string | null;
}

export interface EngineSession {
  readonly sessionId: string;
  /** The own identity once WhatsApp has provided it, else null (it can lag behind `ready`). */
  ownIdentity(): Promise<OwnIdentity | null>;
  /** Resolves an `@lid` id to a phone number, or null when WhatsApp does not know one. */
  resolveLid(lid: string): Promise<string | null>;
  requestPairingCode(phoneNumber: string): Promise<string>;
  /** Logs the device out on WhatsApp's side (the phone sees it unlinked). */
  logout(): Promise<void>;
  /** Stops the client and frees everything it holds; never throws. */
  destroy(): Promise<void>;
}

export interface EngineStartOptions {
  sessionId: string;
  /** When set, the session logs in with a pairing code for this phone instead of a QR. */
  pairingPhoneNumber?: string | null;
  onEvent: (event: EngineEvent) => void;
}

export interface Engine {
  readonly name: 'real' | 'simulated';
  /** Starts a client session; it restores saved auth by itself (no QR) when the auth store has some. */
  start(options: EngineStartOptions): Promise<EngineSession>;
  /** Removes the saved auth of a session: only after a real logout or a delete. */
  removeAuth(sessionId: string): Promise<void>;
  close(): Promise<void>;
}

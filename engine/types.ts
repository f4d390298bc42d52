import type { SessionProxy } from '../domain/proxy-setting.js';
import type { LeaseFence } from '../db/engine-auth.js';
/**
 * The engine layer: one WhatsApp client session, whatever drives it (whatsapp-web.js in Chromium, or the simulated
 * engine). It knows nothing of workflows: the host that runs sessions hands their events to a sink the worker gives it.
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

/** An engine event as the host reports it, tagged with the generation of the client that emitted it. */
export interface SessionEvent {
  /** Increases on every (re)start of a session, so an event of an older client is never believed. */
  generation: number;
  /** The account run the client was started for: generations count within a run, so another run's is never believed. */
  accountRun?: string;
  event: EngineEvent;
  /** When the engine emitted it (worker clock, ms), so delivery latency can be measured end to end. */
  emittedAt: number;
  /** On `ready`: who logged in, when the host could read it at once, so nobody has to ask for it again. */
  ownPhone?: LoggedInIdentity & { readInMs: number };
}

/** Who logged in, as the account keeps it: its phone number, and what else the session reports of it. */
export interface LoggedInIdentity {
  phoneNumber: string;
  pushName: string | null;
  /** The internal id newer accounts also carry (`<digits>@lid`), when WhatsApp gives one. */
  lid: string | null;
  /** What the phone runs as WhatsApp Web reports it (`android`, `iphone`, `smba` for Business on Android, …). */
  platform: string | null;
}

/** The account's own WhatsApp identity; `id` is a phone number or, on newer accounts, an internal `@lid` id. */
export interface OwnIdentity {
  id: string;
  pushName: string | null;
  /** The `@lid` id beside a phone-number `id`, when the page has one. */
  lid: string | null;
  platform: string | null;
}

/** What the session's page shows now, for an admin's diagnostics; never stored in clear. */
export interface PageScreenshot {
  contentType: 'image/png' | 'image/svg+xml';
  bytes: Buffer;
}

/** A profile picture as the session's page fetched it (never a URL into WhatsApp's CDN). */
export interface ProfilePicture {
  contentType: 'image/jpeg' | 'image/png' | 'image/webp';
  bytes: Buffer;
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
  /**
   * WhatsApp Web's own connection state (`CONNECTED` when it is up), null when the page has none. A hung page never
   * answers: the caller bounds the wait.
   */
  state(): Promise<string | null>;
  /** The WhatsApp Web build the client runs, null when the page does not say. */
  webVersion(): Promise<string | null>;
  /** What the client's browser holds in memory now, in bytes; null when it cannot be measured. */
  memoryBytes(): Promise<number | null>;
  /** The account's own profile picture, fetched inside the page; null when it has none (or hides it). */
  profilePicture(): Promise<ProfilePicture | null>;
  /** What the session's page shows now (the real engine: Chromium's screenshot of WhatsApp Web). */
  screenshot(): Promise<PageScreenshot>;
}

export interface EngineStartOptions {
  sessionId: string;
  /** When set, the session logs in with a pairing code for this phone instead of a QR. */
  pairingPhoneNumber?: string | null;
  onEvent: (event: EngineEvent) => void;
  /** The lease this client runs under: its writes (the saved login) are refused once the lease has moved on. */
  fence?: LeaseFence | null;
  /** The WhatsApp Web build this account must load (its own pin), overriding the engine's; null: the engine's. */
  webVersion?: string | null;
  /** The device and browser names the client announces, shown on the phone under "Linked devices"; null: WhatsApp's. */
  deviceName?: string | null;
  browserName?: string | null;
  /** The proxy every connection of the session goes through (the real engine's Chromium, via a bridge); null: none. */
  proxy?: SessionProxy | null;
}

export interface Engine {
  readonly name: 'real' | 'simulated';
  /** Starts a client session; it restores saved auth by itself (no QR) when the auth store has some. */
  start(options: EngineStartOptions): Promise<EngineSession>;
  /** Removes what this engine keeps of a session's login, locally and in the auth store: the login is worthless now. */
  removeAuth(sessionId: string): Promise<void>;
  close(): Promise<void>;
}

import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { isPhoneNumber, PHONE_NUMBER_RULE } from '../../domain/phone-number.js';
import { GROW_MEMORY_MAX_MEGABYTES, type PhoneAction } from '../phone/actions.js';
import type { EngineEvent, EngineSession, OwnIdentity, PageScreenshot, ProfilePicture } from '../types.js';
import type { SimulatorSettings } from '../../config/simulator-settings.js';

/** What the simulated engine saves as auth: enough to log in again as the same phone without a scan. */
export const simulatedAuthSchema = z.object({
  phoneNumber: z.string(),
  pushName: z.string().nullable(),
  lid: z.string().nullable(),
  platform: z.string().nullable().optional(),
  hasProfilePicture: z.boolean().optional(),
});
export type SimulatedAuth = z.infer<typeof simulatedAuthSchema>;

/** Options of a scan (or code entry) that let a test or a demo play a slow or difficult WhatsApp. */
const scanParamsSchema = z
  .object({
    phone: z.string().refine(isPhoneNumber, `phone must be ${PHONE_NUMBER_RULE}`),
    pushName: z.string().max(100).nullable().default(null),
    /** Delay between `authenticated` and `ready`. */
    readyDelayMs: z.number().int().nonnegative().max(600_000).optional(),
    /** `ready` never comes (the stuck-in-authenticated incident). */
    neverReady: z.boolean().default(false),
    /** The own identity is missing for this many look-ups after `ready` (slow or failing phone extraction). */
    identityMissingLookups: z.number().int().nonnegative().max(1_000_000).default(0),
    /** The own identity comes as an internal `@lid` id; `unresolvable` makes its phone number unknown. */
    lid: z.enum(['none', 'resolvable', 'unresolvable']).default('none'),
    /** What the phone runs, as WhatsApp Web reports it. */
    platform: z
      .string()
      .max(40)
      .regex(/^[a-z0-9_-]+$/)
      .default('android'),
    /** Whether the account has a profile picture its session can fetch. */
    profilePicture: z.boolean().default(false),
  })
  .strict();
const enterCodeParamsSchema = scanParamsSchema.omit({ phone: true }).partial().extend({ code: z.string() });

export interface SimulatedSessionHooks {
  saveAuth(auth: SimulatedAuth): Promise<void>;
  removeAuth(): Promise<void>;
  onEvent(event: EngineEvent): void;
}

type Phase = 'starting' | 'showing_qr' | 'showing_code' | 'authenticated' | 'ready' | 'hung' | 'gone';

/** The simulated phone's profile picture: a 1×1 PNG. */
export const SIMULATED_PROFILE_PICTURE = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

/** The build the simulated WhatsApp Web reports when nothing is pinned. */
export const SIMULATED_WEB_VERSION = '2.3000.0-simulated';

/** WhatsApp Web's own state names for what the simulated session shows. */
const WEB_STATES: Record<Exclude<Phase, 'hung'>, string | null> = {
  starting: 'OPENING',
  showing_qr: 'UNPAIRED',
  showing_code: 'UNPAIRED',
  authenticated: 'PAIRING',
  ready: 'CONNECTED',
  gone: null,
};

/** What the simulated page shows in each phase, as a person would read it on WhatsApp Web. */
const PAGE_TEXT: Record<Exclude<Phase, 'hung'>, string> = {
  starting: 'Loading WhatsApp Web…',
  showing_qr: 'Scan the QR code with WhatsApp on your phone',
  showing_code: 'Enter the code on your phone',
  authenticated: 'Logging in…',
  ready: 'Chats',
  gone: 'Closed',
};

/** One simulated WhatsApp Web client and the phone on the other side of it. */
export class SimulatedSession implements EngineSession {
  private phase: Phase = 'starting';
  private readonly timers = new Set<NodeJS.Timeout>();
  private auth: SimulatedAuth | null;
  private pairingCode: string | null = null;
  private identityMissingLookups = 0;
  private lidResolvable = true;
  private grownBytes = 0;

  constructor(
    readonly sessionId: string,
    savedAuth: SimulatedAuth | null,
    private pairingPhoneNumber: string | null,
    private readonly settings: SimulatorSettings,
    private readonly hooks: SimulatedSessionHooks,
    /** The build this session runs (the account's or the service's pin, else the simulated default). */
    private readonly runningWebVersion: string = SIMULATED_WEB_VERSION,
    /** What the client announces; the phone lists the device under it ("Linked devices"). */
    private readonly announced: { deviceName: string | null; browserName: string | null } = {
      deviceName: null,
      browserName: null,
    },
  ) {
    this.auth = savedAuth;
  }

  /** The device as the phone lists it: what the client announced, else WhatsApp Web's own (as the stand-in's). */
  private linkedDevice(): { os: string; name: string } {
    return { os: this.announced.deviceName ?? 'Linux', name: this.announced.browserName ?? 'Chrome' };
  }

  begin(): void {
    // A broken build: the page never gets as far as a login or a connection, and says nothing about it.
    if (this.settings.brokenWebVersions.has(this.runningWebVersion)) return;
    if (this.auth) {
      // Saved auth: WhatsApp Web logs straight in, no QR.
      this.after(this.settings.restoreDelayMs, () => {
        this.phase = 'authenticated';
        this.emit({ type: 'authenticated' });
        this.after(this.settings.readyDelayMs, () => this.becomeReady());
      });
    } else if (this.pairingPhoneNumber) {
      this.after(this.settings.firstQrDelayMs, () => this.showPairingCode());
    } else {
      this.after(this.settings.firstQrDelayMs, () => this.showQr(this.settings.firstQrTtlMs));
    }
  }

  /** Applies what the phone's owner did; returns what happened or throws a reason to reject it. */
  async apply(action: PhoneAction, rawParams: Record<string, unknown>): Promise<Record<string, unknown>> {
    switch (action) {
      case 'scan': {
        if (this.phase !== 'showing_qr')
          throw new SimulatorRejection('not_showing_qr', `the session is ${this.phase}, not showing a QR`);
        const params = scanParamsSchema.parse(rawParams);
        await this.linkPhone(params);
        return { linked: params.phone, linkedDevice: this.linkedDevice() };
      }
      case 'enter_code': {
        if (this.phase !== 'showing_code' || !this.pairingPhoneNumber)
          throw new SimulatorRejection(
            'not_showing_code',
            `the session is ${this.phase}, not waiting for a pairing code`,
          );
        const params = enterCodeParamsSchema.parse(rawParams);
        if (params.code !== this.pairingCode)
          throw new SimulatorRejection('wrong_code', 'the pairing code does not match');
        const { code: _entered, ...scanOptions } = params;
        await this.linkPhone(scanParamsSchema.parse({ ...scanOptions, phone: this.pairingPhoneNumber }));
        return { linked: this.pairingPhoneNumber, linkedDevice: this.linkedDevice() };
      }
      case 'drop':
        return this.disconnect({ type: 'disconnected', kind: 'transient', reason: 'connection_lost' });
      case 'conflict':
        return this.disconnect({ type: 'disconnected', kind: 'conflict', reason: 'CONFLICT' });
      case 'unlink':
        await this.hooks.removeAuth();
        this.auth = null;
        return this.disconnect({ type: 'disconnected', kind: 'logout', reason: 'UNPAIRED' });
      case 'ban':
        return this.disconnect({ type: 'disconnected', kind: 'banned', reason: 'TOS_BLOCK' });
      case 'hang':
        if (this.phase === 'gone') throw new SimulatorRejection('session_gone', 'the session is not running');
        // A hung page: no timer fires, no event comes, no question is answered.
        this.clearTimers();
        this.phase = 'hung';
        return { hung: true };
      case 'grow_memory': {
        const { megabytes } = z
          .object({ megabytes: z.number().int().min(1).max(GROW_MEMORY_MAX_MEGABYTES) })
          .strict()
          .parse(rawParams);
        const heldMegabytes = this.grownBytes / 1024 / 1024;
        if (heldMegabytes + megabytes > GROW_MEMORY_MAX_MEGABYTES)
          throw new SimulatorRejection(
            'memory_growth_limit',
            `${megabytes} MB more would have the session's browser hold ${heldMegabytes + megabytes} MB grown, over its bound of ${GROW_MEMORY_MAX_MEGABYTES} MB`,
          );
        this.grownBytes += megabytes * 1024 * 1024;
        return { grownMegabytes: Math.round(this.grownBytes / 1024 / 1024) };
      }
    }
  }

  state(): Promise<string | null> {
    if (this.phase === 'hung') return new Promise(() => undefined);
    return Promise.resolve(WEB_STATES[this.phase]);
  }

  webVersion(): Promise<string | null> {
    if (this.phase === 'hung') return new Promise(() => undefined);
    return Promise.resolve(this.phase === 'gone' ? null : this.runningWebVersion);
  }

  async memoryBytes(): Promise<number | null> {
    return this.phase === 'gone' ? null : this.settings.sessionMemoryBytes + this.grownBytes;
  }

  async ownIdentity(): Promise<OwnIdentity | null> {
    if (this.phase !== 'ready' || !this.auth) return null;
    if (this.identityMissingLookups > 0) {
      this.identityMissingLookups -= 1;
      return null;
    }
    return {
      id: this.auth.lid ?? this.auth.phoneNumber,
      pushName: this.auth.pushName,
      lid: this.auth.lid,
      platform: this.auth.platform ?? null,
    };
  }

  async profilePicture(): Promise<ProfilePicture | null> {
    if (this.phase !== 'ready' || !this.auth?.hasProfilePicture) return null;
    return { contentType: 'image/png', bytes: SIMULATED_PROFILE_PICTURE };
  }

  /** The simulated page as an image: what it shows in words. A hung page never answers, as a real one does not. */
  screenshot(): Promise<PageScreenshot> {
    if (this.phase === 'hung') return new Promise(() => undefined);
    const escape = (text: string) =>
      text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);
    const svg = [
      '<svg xmlns="http://www.w3.org/2000/svg" width="640" height="360" viewBox="0 0 640 360">',
      '<rect width="640" height="360" fill="#f0f2f5"/>',
      '<text x="32" y="64" font-family="sans-serif" font-size="22" fill="#111b21">WhatsApp Web (simulated)</text>',
      `<text x="32" y="120" font-family="sans-serif" font-size="18" fill="#3b4a54">${escape(PAGE_TEXT[this.phase])}</text>`,
      `<text x="32" y="320" font-family="monospace" font-size="12" fill="#667781">${escape(this.sessionId)}</text>`,
      '</svg>',
    ].join('');
    return Promise.resolve({ contentType: 'image/svg+xml', bytes: Buffer.from(svg) });
  }

  async resolveLid(lid: string): Promise<string | null> {
    return this.auth?.lid === lid && this.lidResolvable ? this.auth.phoneNumber : null;
  }

  async requestPairingCode(phoneNumber: string): Promise<string> {
    if (this.phase !== 'showing_qr' && this.phase !== 'showing_code') {
      throw new SimulatorRejection(
        'not_linking',
        `the session is ${this.phase}; pairing codes are for sessions not linked yet`,
      );
    }
    this.clearTimers();
    this.pairingCode = newPairingCode();
    this.pairingPhoneNumber = phoneNumber;
    this.phase = 'showing_code';
    this.emit({ type: 'pairing_code', code: this.pairingCode });
    return this.pairingCode;
  }

  async logout(): Promise<void> {
    await this.hooks.removeAuth();
    this.auth = null;
    await this.destroy();
  }

  async destroy(): Promise<void> {
    this.clearTimers();
    this.phase = 'gone';
  }

  get isGone(): boolean {
    return this.phase === 'gone';
  }

  private async linkPhone(params: z.infer<typeof scanParamsSchema>) {
    this.clearTimers();
    this.auth = {
      phoneNumber: params.phone,
      pushName: params.pushName,
      lid: params.lid === 'none' ? null : `${randomBytes(6).readUIntBE(0, 6)}@lid`,
      platform: params.platform,
      hasProfilePicture: params.profilePicture,
    };
    this.lidResolvable = params.lid !== 'unresolvable';
    this.identityMissingLookups = params.identityMissingLookups;
    await this.hooks.saveAuth(this.auth);
    this.phase = 'authenticated';
    this.emit({ type: 'authenticated' });
    if (!params.neverReady) {
      this.after(
        params.readyDelayMs !== undefined ? this.settings.scale(params.readyDelayMs) : this.settings.readyDelayMs,
        () => this.becomeReady(),
      );
    }
  }

  private becomeReady() {
    this.phase = 'ready';
    this.emit({ type: 'ready' });
  }

  private showQr(ttlMs: number) {
    this.phase = 'showing_qr';
    // The shape of a WhatsApp Web QR payload: ref, public key, identity key, adv secret.
    this.emit({
      type: 'qr',
      qr: [randomBytes(24), randomBytes(32), randomBytes(32), randomBytes(16)]
        .map((b) => b.toString('base64'))
        .join(','),
    });
    this.after(ttlMs, () => this.showQr(this.settings.qrTtlMs));
  }

  private showPairingCode() {
    this.phase = 'showing_code';
    this.pairingCode = newPairingCode();
    this.emit({ type: 'pairing_code', code: this.pairingCode });
  }

  private disconnect(event: EngineEvent & { type: 'disconnected' }): Record<string, unknown> {
    if (this.phase === 'gone') throw new SimulatorRejection('session_gone', 'the session is not running');
    this.clearTimers();
    this.phase = 'gone';
    this.emit(event);
    return { disconnected: event.kind };
  }

  private emit(event: EngineEvent) {
    this.hooks.onEvent(event);
  }

  private after(ms: number, run: () => void) {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.phase !== 'gone') run();
    }, ms);
    this.timers.add(timer);
  }

  private clearTimers() {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}

export class SimulatorRejection extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function newPairingCode(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTVWXYZ23456789';
  const chars = [...randomBytes(8)].map((byte) => alphabet[byte % alphabet.length]).join('');
  return `${chars.slice(0, 4)}-${chars.slice(4)}`;
}

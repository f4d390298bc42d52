import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from '../lib/logger.js';
import { engineEventSignal, type EngineEventEnvelope } from '../workflows/messages.js';
import { readOwnPhone } from './own-phone.js';
import type { Engine, EngineEvent, EngineSession } from './types.js';

/** How long `ready` waits for its one look at the own phone number before it goes out without it. */
const READY_PHONE_READ_BUDGET_MS = 2_000;

interface HostedSession {
  generation: number;
  workflowId: string;
  session: EngineSession;
  /** Resolves when the session is destroyed on this host. */
  gone: Promise<void>;
  markGone: () => void;
  /** Engine events go out one after another, so the workflow sees them in the order the engine emitted them. */
  outbox: Promise<void>;
}

/**
 * The engine sessions living in this worker process. Only host-queue activities of this process reach it, so
 * every command for a session lands where its client runs.
 */
export class SessionHost {
  private readonly sessions = new Map<string, HostedSession>();

  constructor(
    private readonly engine: Engine,
    private readonly temporal: Client,
    private readonly log: Logger,
  ) {}

  get engineName() {
    return this.engine.name;
  }

  /** Starts the session for this generation; a repeated start of the same generation is a no-op (activity retry). */
  async start(params: { sessionId: string; workflowId: string; generation: number; pairingPhoneNumber: string | null }): Promise<void> {
    const existing = this.sessions.get(params.sessionId);
    if (existing?.generation === params.generation) return;
    if (existing) await this.destroy(params.sessionId);

    let markGone: () => void = () => undefined;
    const gone = new Promise<void>((resolve) => { markGone = resolve; });
    const hosted: HostedSession = { generation: params.generation, workflowId: params.workflowId, session: undefined as never, gone, markGone, outbox: Promise.resolve() };
    this.sessions.set(params.sessionId, hosted);
    try {
      hosted.session = await this.engine.start({
        sessionId: params.sessionId,
        pairingPhoneNumber: params.pairingPhoneNumber,
        onEvent: (event) => this.forward(hosted, event),
      });
    } catch (error) {
      this.sessions.delete(params.sessionId);
      markGone();
      throw error;
    }
  }

  get(sessionId: string, generation?: number): EngineSession | null {
    const hosted = this.sessions.get(sessionId);
    if (!hosted || (generation !== undefined && hosted.generation !== generation)) return null;
    return hosted.session;
  }

  /** Resolves when the session of this generation is destroyed here; null when it is not on this host. */
  whenGone(sessionId: string, generation: number): Promise<void> | null {
    const hosted = this.sessions.get(sessionId);
    return hosted && hosted.generation === generation ? hosted.gone : null;
  }

  async destroy(sessionId: string): Promise<void> {
    const hosted = this.sessions.get(sessionId);
    if (!hosted) return;
    this.sessions.delete(sessionId);
    await hosted.session?.destroy().catch((error: unknown) => this.log.warn({ sessionId, err: String(error) }, 'destroying a session failed'));
    hosted.markGone();
  }

  async destroyAll(): Promise<void> {
    await Promise.all([...this.sessions.keys()].map((sessionId) => this.destroy(sessionId)));
  }

  get size(): number {
    return this.sessions.size;
  }

  /**
   * One bounded look at the own phone number when the session turns ready: usually WhatsApp has it by then, and
   * sending it with `ready` saves the workflow a round trip to this host. Anything short of a valid number (not
   * provided yet, unresolvable, slow, failing) sends `ready` alone, and the workflow's extraction activity takes over
   * with its retries and failure reasons.
   */
  private async readOwnPhoneAtReady(hosted: HostedSession): Promise<EngineEventEnvelope['ownPhone'] | null> {
    const startedAt = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const reading = await Promise.race([
        readOwnPhone(hosted.session),
        new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), READY_PHONE_READ_BUDGET_MS); }),
      ]);
      if (reading?.kind !== 'phone') return null;
      return { phoneNumber: reading.phoneNumber, pushName: reading.pushName, readInMs: Date.now() - startedAt };
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  private forward(hosted: HostedSession, event: EngineEvent) {
    const sessionId = hosted.session?.sessionId;
    const emittedAt = Date.now();
    // The type and reason only: a QR or a pairing code is a login credential and stays out of logs.
    this.log.info({ workflowId: hosted.workflowId, generation: hosted.generation, event: event.type, ...(event.type === 'disconnected' ? { kind: event.kind, reason: event.reason } : {}) }, 'engine event');
    hosted.outbox = hosted.outbox.then(async () => {
      const envelope: EngineEventEnvelope = { generation: hosted.generation, event, emittedAt };
      if (event.type === 'ready') {
        const ownPhone = await this.readOwnPhoneAtReady(hosted);
        if (ownPhone) envelope.ownPhone = ownPhone;
      }
      for (let attempt = 1; ; attempt += 1) {
        try {
          await this.temporal.workflow.getHandle(hosted.workflowId).signal(engineEventSignal, envelope);
          return;
        } catch (error) {
          if (error instanceof WorkflowNotFoundError) {
            // The account's workflow is over: nobody wants this client any more.
            if (sessionId && this.sessions.get(sessionId) === hosted) await this.destroy(sessionId);
            return;
          }
          if (attempt >= 30) {
            this.log.error({ workflowId: hosted.workflowId, event: event.type, err: String(error) }, 'could not deliver an engine event');
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 100 * 2 ** attempt)));
        }
      }
    });
  }
}

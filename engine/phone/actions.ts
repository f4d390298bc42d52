import { sql, type CommonQueryMethods, type DatabasePool } from 'slonik';
import { z } from 'zod';

/**
 * What the world does to a session: the phone's owner (scan, enter a code, unlink), WhatsApp (drop, conflict, ban), or
 * the browser the session runs in (`hang`: the page stops answering; `grow_memory`: it holds that much more).
 */
export const PHONE_ACTIONS = [
  'scan',
  'enter_code',
  'drop',
  'unlink',
  'conflict',
  'ban',
  'hang',
  'grow_memory',
] as const;
export type PhoneAction = (typeof PHONE_ACTIONS)[number];

/**
 * What `grow_memory` may make one session's browser hold, all calls together. On the stand-in page the memory is
 * real: without a bound, one call (or a loop of them) with any key that may play the phone takes the host's memory.
 * The stand-in page holds the same number (engine/real/whatsapp-web-standin.html).
 */
export const GROW_MEMORY_MAX_MEGABYTES = 2048;

export const simulatorActionSchema = z.object({
  id: z.number().int(),
  session_id: z.string(),
  action: z.enum(PHONE_ACTIONS),
  params: z.record(z.unknown()),
  state: z.enum(['pending', 'claimed', 'applied', 'rejected']),
  result: z.record(z.unknown()).nullable(),
});
export type SimulatorAction = z.infer<typeof simulatorActionSchema>;

export interface ActionOutcome {
  state: 'applied' | 'rejected';
  result: Record<string, unknown>;
}

/** A wait for the next change of one action's row; `cancel` ends it early when the outcome is already there. */
export interface OutcomeWait {
  changed: Promise<void>;
  cancel(): void;
}

/** Without a listener: look again after 25 ms. */
function pollAgain(): OutcomeWait {
  let timer: NodeJS.Timeout | undefined;
  const changed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, 25);
  });
  return { changed, cancel: () => clearTimeout(timer) };
}

/** What an action no worker claimed in time answers. */
const NO_SESSION = { error: 'no_simulated_session', message: 'no running simulated session with this id' };
/** What an action whose worker took it and then went quiet answers. */
const LOST = {
  error: 'phone_action_lost',
  message: 'the worker that took this action stopped before it answered; send it again',
};

/**
 * Submits a phone-side action and waits for the worker holding the session to apply or reject it. When no worker
 * claims it in time (no simulated session is running for that id), it is withdrawn and reported as rejected; when
 * the worker that claimed it gives no outcome in time (it died holding it), it is given up as `phone_action_lost`,
 * and a late outcome from that worker changes nothing. `nextChange` tells when to read the row again (the API's
 * NOTIFY listener); without it, every 25 ms.
 */
export async function submitPhoneAction(
  pool: DatabasePool,
  sessionId: string,
  action: PhoneAction,
  params: Record<string, unknown>,
  options: { timeoutMs?: number; claimedTimeoutMs?: number; nextChange?: (id: number) => OutcomeWait } = {},
): Promise<ActionOutcome> {
  const nextChange = options.nextChange ?? pollAgain;
  const id = await pool.oneFirst(sql.type(z.object({ id: z.number().int() }))`
    INSERT INTO simulator_actions (session_id, action, params) VALUES (${sessionId}, ${action}, ${sql.jsonb(params as never)}) RETURNING id
  `);
  const deadline = Date.now() + (options.timeoutMs ?? 5_000);
  const claimedDeadline = deadline + (options.claimedTimeoutMs ?? 30_000);
  for (;;) {
    // Listen before reading, so an outcome written between the read and the wait is not missed.
    const wait = nextChange(id);
    const row = await pool.one(sql.type(simulatorActionSchema)`SELECT * FROM simulator_actions WHERE id = ${id}`);
    if (row.state === 'applied' || row.state === 'rejected') {
      wait.cancel();
      return { state: row.state, result: row.result ?? {} };
    }
    const withdrawn = Date.now() > deadline ? await rejectIfStill(pool, id, 'pending', NO_SESSION) : null;
    // A worker claimed it meanwhile: its outcome is on the way, unless that worker is gone.
    const lost = !withdrawn && Date.now() > claimedDeadline ? await rejectIfStill(pool, id, 'claimed', LOST) : null;
    const givenUp = withdrawn ?? lost;
    if (givenUp) {
      wait.cancel();
      return { state: 'rejected', result: givenUp.result ?? {} };
    }
    await wait.changed;
  }
}

/** Rejects the action with `outcome` if it is still in `state`; null when it moved on meanwhile. */
function rejectIfStill(
  pool: DatabasePool,
  id: number,
  state: 'pending' | 'claimed',
  outcome: { error: string; message: string },
): Promise<SimulatorAction | null> {
  return pool.maybeOne(sql.type(simulatorActionSchema)`
    UPDATE simulator_actions SET state = 'rejected', handled_at = now(), result = ${sql.jsonb(outcome)}
    WHERE id = ${id} AND state = ${state} RETURNING *
  `);
}

/** The worker that holds the session claims the action, so that exactly one applies it. */
export async function claimPhoneAction(
  db: CommonQueryMethods,
  id: number,
  heldSessionIds: readonly string[],
): Promise<SimulatorAction | null> {
  if (heldSessionIds.length === 0) return null;
  return db.maybeOne(sql.type(simulatorActionSchema)`
    UPDATE simulator_actions SET state = 'claimed'
    WHERE id = ${id} AND state = 'pending' AND session_id = ANY(${sql.array([...heldSessionIds], 'text')})
    RETURNING *
  `);
}

export async function pendingPhoneActions(db: CommonQueryMethods, sessionId: string): Promise<readonly number[]> {
  return db.anyFirst(sql.type(z.object({ id: z.number().int() }))`
    SELECT id FROM simulator_actions WHERE session_id = ${sessionId} AND state = 'pending' ORDER BY id
  `);
}

/** Writes the outcome of a claimed action; one the submitter gave up on in the meantime keeps its answer. */
export async function finishPhoneAction(db: CommonQueryMethods, id: number, outcome: ActionOutcome): Promise<void> {
  await db.query(sql.unsafe`
    UPDATE simulator_actions SET state = ${outcome.state}, result = ${sql.jsonb(outcome.result as never)}, handled_at = now()
    WHERE id = ${id} AND state = 'claimed'
  `);
}

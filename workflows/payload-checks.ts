import { ApplicationFailure, log, setHandler, workflowInfo, type SignalDefinition } from '@temporalio/workflow';
import type { DisconnectKind, EngineEvent, SessionEvent } from '../engine/types.js';
import { isUnreadablePayload } from '../lib/unreadable-payload.js';
import type { Addressed } from './messages.js';

/**
 * What a workflow does with what Temporal hands it. The codec decodes a payload it cannot read (not the service's,
 * a forgery) to a marker instead of failing the workflow task (lib/payload-encryption.ts); here every argument,
 * input and activity result is checked before it is believed. A message that is not for this workflow, or not of its
 * shape, changes nothing: logged (which message and why, never its content) and dropped.
 */

export type Fields = Record<string, unknown>;
type ShapeCheck<Payload> = (fields: Fields) => fields is Fields & Payload;

export function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Why this workflow refuses a message's argument, or null: it names this workflow and has the shape it needs. */
export function messageRefusal(argument: unknown, hasShape: (fields: Fields) => boolean): string | null {
  if (isUnreadablePayload(argument)) return `its payload is unreadable (${argument.unreadablePayload})`;
  if (!isFields(argument) || typeof argument.workflowId !== 'string') return 'it names no workflow';
  if (argument.workflowId !== workflowInfo().workflowId) return 'it names another workflow';
  if (!hasShape(argument)) return 'its argument is not of the shape it needs';
  return null;
}

/** Logs a refused message: its name and why, never its content. */
export function logRefusal(kind: 'signal' | 'update', name: string, refusal: string): void {
  log.warn(`refused the ${kind} ${name}: ${refusal}`, { [kind]: name, refusal });
}

/** Handles `signal` when its argument is addressed to this workflow and of its shape; drops anything else. */
export function setAddressedSignalHandler<Payload extends object>(
  signal: SignalDefinition<[Addressed<Payload>]>,
  hasShape: ShapeCheck<Payload>,
  handler: (argument: Fields & Addressed<Payload>) => void,
): void {
  setHandler(signal, (argument: unknown) => {
    const refusal = messageRefusal(argument, hasShape);
    if (refusal !== null) return logRefusal('signal', signal.name, refusal);
    // messageRefusal checked the address and the shape.
    handler(argument as Fields & Addressed<Payload>);
  });
}

/**
 * For an update's validator: rejects the update (logged, as for a signal) unless its argument is addressed to this
 * workflow and of its shape. A validator's throw rejects the update alone; the workflow task goes on.
 */
export function assertAddressed<Payload extends object>(
  updateName: string,
  argument: unknown,
  hasShape: ShapeCheck<Payload>,
): asserts argument is Fields & Addressed<Payload> {
  const refusal = messageRefusal(argument, hasShape);
  if (refusal === null) return;
  logRefusal('update', updateName, refusal);
  throw ApplicationFailure.nonRetryable(`the request is refused: ${refusal}`, 'MessageRefused');
}

// ---- Shapes of the messages' payloads.

/** A command carries nothing but its address. */
export const isCommand: ShapeCheck<object> = (_fields): _fields is Fields => true;

const DISCONNECT_KINDS: readonly unknown[] = ['transient', 'logout', 'conflict', 'banned'] satisfies DisconnectKind[];

function isEngineEvent(value: unknown): value is EngineEvent {
  if (!isFields(value)) return false;
  switch (value.type) {
    case 'qr':
      return typeof value.qr === 'string';
    case 'pairing_code':
      return typeof value.code === 'string';
    case 'authenticated':
    case 'ready':
      return true;
    case 'disconnected':
      return DISCONNECT_KINDS.includes(value.kind) && typeof value.reason === 'string';
    case 'auth_failure':
      return typeof value.reason === 'string';
    default:
      return false;
  }
}

function isOwnPhone(value: unknown): value is NonNullable<SessionEvent['ownPhone']> {
  if (!isFields(value)) return false;
  const { phoneNumber, pushName, lid, platform, readInMs } = value;
  const textOrNull = (field: unknown) => field === null || typeof field === 'string';
  return (
    typeof phoneNumber === 'string' &&
    textOrNull(pushName) &&
    isAbsentOr(lid, textOrNull) &&
    isAbsentOr(platform, textOrNull) &&
    isCount(readInMs)
  );
}

export const isSessionEvent: ShapeCheck<SessionEvent> = (fields): fields is Fields & SessionEvent =>
  Number.isSafeInteger(fields.generation) &&
  isAbsentOr(fields.accountRun, isName) &&
  typeof fields.emittedAt === 'number' &&
  isEngineEvent(fields.event) &&
  isAbsentOr(fields.ownPhone, isOwnPhone);

export const isSuperseded: ShapeCheck<{ bySessionId: string }> = (fields): fields is Fields & { bySessionId: string } =>
  isName(fields.bySessionId);

export const isHostGone: ShapeCheck<{ hostTaskQueue: string }> = (
  fields,
): fields is Fields & { hostTaskQueue: string } => isName(fields.hostTaskQueue);

/** A non-empty string: an id, a name, a task queue. */
export function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** A finite number, not negative: a count, a duration. */
export function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** For a field that may be left out. */
export function isAbsentOr(value: unknown, check: (value: unknown) => boolean): boolean {
  return value === undefined || check(value);
}

// ---- Workflow inputs and activity results.

/**
 * A workflow's input, checked before the workflow acts on it: an unreadable or malformed one ends the workflow at once
 * with a failure that says so. (Thrown as anything but a Temporal failure, it would fail the workflow task instead,
 * and every retry of the task would read the same input.)
 */
export function checkedInput<Input>(input: unknown, isInput: (fields: Fields) => boolean, what: string): Input {
  if (isUnreadablePayload(input)) {
    throw ApplicationFailure.nonRetryable(`${what}: its input is unreadable (${input.unreadablePayload})`, 'BadInput');
  }
  if (!isFields(input) || !isInput(input)) {
    throw ApplicationFailure.nonRetryable(`${what}: its input is not of the shape it needs`, 'BadInput');
  }
  return input as Input;
}

/**
 * Activities whose result the codec could not read throw a non-retryable failure (type `UnreadablePayload`) where
 * they would have returned the marker: the caller handles it as any failed activity, and never takes the marker for a
 * result.
 */
export function readableResults<Activities extends object>(activities: Activities): Activities {
  return new Proxy(activities, {
    get(target, name, receiver) {
      const activity: unknown = Reflect.get(target, name, receiver);
      if (typeof activity !== 'function') return activity;
      const run = activity as (...args: unknown[]) => Promise<unknown>;
      return async (...args: unknown[]) => {
        const result = await run(...args);
        if (isUnreadablePayload(result)) {
          throw ApplicationFailure.nonRetryable(
            `the result of ${String(name)} is unreadable (${result.unreadablePayload})`,
            'UnreadablePayload',
          );
        }
        return result;
      };
    },
  });
}

import type { FastifyRequest } from 'fastify';
import { HttpProblem, problem } from './problem.js';

const WINDOW_MS = 60_000;

/**
 * Takes one creation from the request's budget, or throws 429 account_creation_rate_limited. It is called only
 * when an account is about to be inserted (never for a repeat of an existing one); the returned function gives the
 * creation back when none happened after all (another request inserted the same session id first).
 */
export type AccountCreationGate = (request: FastifyRequest) => () => void;

/**
 * Each account may start a Chromium, so creating them has a budget of its own, far below the general request rate,
 * per key (per address for key-less legacy requests), shared by every route that creates accounts. Only creations
 * count: a backend retrying the same create (its sessionId is the idempotency key) gets its account back however
 * often it asks. A creation is taken synchronously, before the insert, so concurrent creates cannot overshoot it.
 */
export function accountCreationGate(perMinute: number, now: () => number = Date.now): AccountCreationGate {
  // Per budget key: when each creation of the last minute was taken, oldest first (at most perMinute entries).
  const taken = new Map<string, number[]>();
  let nextSweepAt = now() + WINDOW_MS;
  const sweep = (at: number) => {
    if (at < nextSweepAt) return;
    nextSweepAt = at + WINDOW_MS;
    for (const [key, times] of taken) if (times.every((time) => time <= at - WINDOW_MS)) taken.delete(key);
  };
  return (request) => {
    const at = now();
    sweep(at);
    const key =
      request.principal && request.principal.keyId > 0 ? `key:${request.principal.keyId}` : `ip:${request.ip}`;
    // Kept in place (never copied): a pending creation's give-back finds its entry in this very array.
    const times = taken.get(key) ?? [];
    taken.set(key, times);
    while (times.length > 0 && (times[0] ?? at) <= at - WINDOW_MS) times.shift();
    if (times.length >= perMinute) {
      const retryAfterSeconds = Math.max(1, Math.ceil(((times[0] ?? at) + WINDOW_MS - at) / 1000));
      throw new HttpProblem(
        problem(
          429,
          'account_creation_rate_limited',
          'Too Many Requests',
          `at most ${perMinute} accounts created per minute per key; retry after ${retryAfterSeconds} s`,
          { retryAfterSeconds },
        ),
      );
    }
    times.push(at);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const index = times.lastIndexOf(at);
      if (index >= 0) times.splice(index, 1);
    };
  };
}

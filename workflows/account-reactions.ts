import type { SessionEvent } from '../engine/types.js';
import type { Command } from './account-inputs.js';
import type { Turn } from './account-turn.js';
import type { DeadlineName } from './deadlines.js';

/**
 * How the account reacts to what it is told (API commands), what its session reports (engine events) and what it
 * waited for (deadlines); part of `transition` (workflows/account-transitions.ts).
 */

const RESTART_REASON = 'restart_requested';

export function command(turn: Turn, command: Command): void {
  switch (command.type) {
    case 'delete':
      return turn.finish('deleted');
    case 'logout':
      return turn.finish('logged_out');
    case 'restart':
      turn.stopSession();
      if (turn.account.status === 'connected') turn.moveTo('disconnected', 'disconnected', RESTART_REASON);
      turn.account.reconnectAttempts = 0;
      turn.setDeadline('reconnectAt', turn.now);
      return;
    case 'superseded':
      // The activation that took the phone already wrote this row and removed its saved login; only the client is left.
      turn.stopSession({ logout: true, forgetLogin: true });
      Object.assign(turn.account, {
        status: 'failed',
        failureReason: `phone_moved_to_session:${command.bySessionId}`,
        ended: true,
      });
      return;
  }
}

export function engineEvent(turn: Turn, { event, emittedAt, ownPhone }: SessionEvent): void {
  const { account, now } = turn;
  switch (event.type) {
    case 'qr':
    case 'pairing_code':
      // A session that had logged in asks for a new login: its saved login no longer works.
      if (account.status !== 'qr_scanning') return turn.finish('login_lost');
      return turn.recordCode(event.type, event.type === 'qr' ? event.qr : event.code, emittedAt);
    case 'authenticated':
      turn.state.authenticatedAt = now;
      turn.setDeadline('readyBy', now + turn.context.timings.readyTimeoutMs);
      if (account.status === 'qr_scanning') turn.moveTo('authenticated', 'authenticated');
      return;
    case 'ready': {
      // The own phone number: sent with `ready` when the host could read it at once, else extracted on the host with
      // retries. Never connected without one.
      turn.clearDeadlines('readyBy');
      if (ownPhone) {
        const { phoneNumber, pushName, lid, platform, readInMs } = ownPhone;
        return turn.connect({ phoneNumber, pushName, lid: lid ?? null, platform: platform ?? null }, readInMs);
      }
      const host = turn.state.host;
      if (host.phase === 'attached')
        turn.do({ type: 'extractPhone', taskQueue: host.taskQueue, generation: host.generation });
      return;
    }
    case 'auth_failure':
      return turn.finish('auth_failure', event.reason);
    case 'disconnected':
      if (event.kind === 'logout') return turn.finish('logged_out_from_phone');
      if (event.kind === 'banned') return turn.finish('banned', event.reason);
      // Transient or conflict: the saved login stays, the session comes back without a scan.
      turn.stopSession();
      if (account.status === 'connected') {
        turn.moveTo(
          'disconnected',
          'disconnected',
          event.kind === 'conflict' ? 'conflict' : `transient:${event.reason}`,
        );
      }
      return turn.scheduleReconnect(event.kind === 'conflict' ? 'conflict' : event.reason);
  }
}

export function deadline(turn: Turn, name: DeadlineName): void {
  switch (name) {
    case 'qrExpiry':
      return turn.finish('qr_expired');
    case 'readyBy':
      // Stuck in `authenticated`: restart once from the saved login, then give up.
      turn.state.readyRestarts += 1;
      if (turn.state.readyRestarts > 1) return turn.finish('ready_timeout');
      turn.stopSession();
      turn.setDeadline('reconnectAt', turn.now);
      return;
    case 'reconnectAt':
      return; // The next step brings the session up.
    case 'reconnectBy':
      // The client came up but never logged back in (a start that failed silently, a page that hung).
      turn.stopSession();
      return turn.scheduleReconnect('reconnect_timeout');
    case 'moveNotice':
      return turn.settleQuietMove();
    case 'hostWaitNotice': {
      // Every host is full: the account waits for a seat, and says so once per request. A session moving quietly
      // stops saying `connected` first: the wait is for its way back.
      turn.settleQuietMove();
      const since = turn.state.hostAskedAt;
      const data = { waitingSinceMs: turn.now - since, generation: turn.account.generation };
      return turn.recordEvent('waiting_for_host', data, { kind: 'host', since });
    }
  }
}

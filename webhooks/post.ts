import http from 'node:http';
import https from 'node:https';
import { guardedLookup, urlRefusal, type WebhookNetworkPolicy } from './network-policy.js';

/** A delivery the network policy refused: retrying cannot help. */
export class WebhookRefused extends Error {
  override readonly name = 'WebhookRefused';
}

export interface PostLimits {
  /** The whole attempt, connect to last byte. */
  timeoutMs: number;
  /** What is read of the receiver's answer; the rest is dropped (only the status matters). */
  maxResponseBytes: number;
}

export const DEFAULT_LIMITS: PostLimits = { timeoutMs: 10_000, maxResponseBytes: 64 * 1024 };

/**
 * POSTs one webhook and answers the receiver's status code. The URL and every address its name resolves to pass the
 * network policy first; redirects are never followed (a 3xx is the receiver's answer), and the answer's body is read
 * only up to a cap.
 */
export async function postWebhook(
  target: { url: string; headers: Record<string, string>; body: string },
  policy: WebhookNetworkPolicy,
  limits: PostLimits = DEFAULT_LIMITS,
): Promise<number> {
  const refusal = urlRefusal(target.url, policy);
  if (refusal) throw new WebhookRefused(refusal);
  const url = new URL(target.url);
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<number>((resolve, reject) => {
    const request = transport.request(
      url,
      {
        method: 'POST',
        headers: { ...target.headers, 'content-length': String(Buffer.byteLength(target.body)) },
        lookup: guardedLookup(policy, url.hostname),
        signal: AbortSignal.timeout(limits.timeoutMs),
        agent: false,
      },
      (response) => {
        const statusCode = response.statusCode ?? 0;
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > limits.maxResponseBytes) response.destroy();
        });
        response.on('close', () => resolve(statusCode));
        response.on('error', () => resolve(statusCode));
      },
    );
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EWEBHOOKREFUSED') reject(new WebhookRefused(error.message));
      else if (error.name === 'AbortError' || error.name === 'TimeoutError') {
        reject(new Error(`timeout after ${limits.timeoutMs} ms`));
      } else reject(error);
    });
    request.end(target.body);
  });
}

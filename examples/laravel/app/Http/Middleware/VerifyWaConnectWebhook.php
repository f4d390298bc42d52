<?php

declare(strict_types=1);

namespace App\Http\Middleware;

use Closure;

/**
 * Laravel middleware for wa-connect's webhooks: refuses (401) a request whose signature or timestamp does not verify,
 * so the controller only sees deliveries wa-connect sent. Either signature scheme verifies:
 * - the legacy one: X-Timestamp (unix seconds) and X-HMAC-Signature = hex HMAC-SHA256(secret, timestamp . raw body);
 * - Standard Webhooks: webhook-id, webhook-timestamp and webhook-signature = "v1," . base64 HMAC-SHA256 with the
 *   base64-decoded secret over "{id}.{timestamp}.{raw body}" (several, space-separated, while a secret rotates).
 *
 * Register it on the webhook route: Route::post('/webhooks/whatsapp', ...)->middleware(VerifyWaConnectWebhook::class),
 * with the workspace's secret in config/services.php as 'wa_connect' => ['webhook_secret' => env('WA_CONNECT_WEBHOOK_SECRET')].
 * A retry of an event carries the same webhook-id: treat a second delivery of one id as already processed (answer 2xx).
 */
final class VerifyWaConnectWebhook
{
    public function __construct(private ?string $secret = null, private int $toleranceSeconds = 300)
    {
    }

    /** @param \Illuminate\Http\Request $request */
    public function handle($request, Closure $next)
    {
        $secret = $this->secret ?? (string) config('services.wa_connect.webhook_secret');
        $result = self::verify($request->headers->all(), $request->getContent(), $secret, $this->toleranceSeconds);
        if (!$result['ok']) {
            abort(401, 'webhook signature: ' . $result['reason']);
        }
        $request->attributes->set('wa_connect_signature_scheme', $result['scheme']);
        return $next($request);
    }

    /**
     * @param array<string, string|list<string>> $headers as received, any case (Laravel's $request->headers->all())
     * @return array{ok: true, scheme: 'legacy'|'standard'}|array{ok: false, reason: string}
     */
    public static function verify(
        array $headers,
        string $rawBody,
        string $secret,
        int $toleranceSeconds = 300,
        ?int $now = null
    ): array {
        $now ??= time();
        $header = static function (string $name) use ($headers): ?string {
            foreach ($headers as $key => $value) {
                if (strtolower((string) $key) === $name) {
                    return is_array($value) ? (isset($value[0]) ? (string) $value[0] : null) : (string) $value;
                }
            }
            return null;
        };
        $stale = static function (string $timestamp) use ($now, $toleranceSeconds): ?string {
            if (preg_match('/^\d{1,12}$/', $timestamp) !== 1) {
                return 'bad_timestamp';
            }
            return abs($now - (int) $timestamp) > $toleranceSeconds ? 'expired' : null;
        };

        $legacyTimestamp = $header('x-timestamp');
        $legacySignature = $header('x-hmac-signature');
        $id = $header('webhook-id');
        $timestamp = $header('webhook-timestamp');
        $signatures = $header('webhook-signature');
        $standardPresent = $id !== null && $timestamp !== null && $signatures !== null;

        if ($legacyTimestamp !== null && $legacySignature !== null) {
            if (($problem = $stale($legacyTimestamp)) !== null) {
                return ['ok' => false, 'reason' => $problem];
            }
            $expected = hash_hmac('sha256', $legacyTimestamp . $rawBody, $secret);
            if (hash_equals($expected, $legacySignature)) {
                return ['ok' => true, 'scheme' => 'legacy'];
            }
            // The legacy header carries the current secret only; during a rotation the previous one is among the
            // Standard Webhooks signatures.
            if (!$standardPresent) {
                return ['ok' => false, 'reason' => 'bad_signature'];
            }
        }
        if ($standardPresent) {
            if (($problem = $stale($timestamp)) !== null) {
                return ['ok' => false, 'reason' => $problem];
            }
            $key = (string) base64_decode(str_starts_with($secret, 'whsec_') ? substr($secret, 6) : $secret);
            $expected = 'v1,' . base64_encode(hash_hmac('sha256', "{$id}.{$timestamp}.{$rawBody}", $key, true));
            foreach (explode(' ', $signatures) as $candidate) {
                if (hash_equals($expected, $candidate)) {
                    return ['ok' => true, 'scheme' => 'standard'];
                }
            }
            return ['ok' => false, 'reason' => 'bad_signature'];
        }
        return ['ok' => false, 'reason' => 'missing_headers'];
    }
}

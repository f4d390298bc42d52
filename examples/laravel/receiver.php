<?php

declare(strict_types=1);

// A webhook receiver for `php -S` that checks every delivery the way VerifyWaConnectWebhook does: with both schemes,
// each alone, and with the body changed by one byte (which must fail). It records each outcome as a JSON line in
// WA_RECEIVER_LOG and answers as the middleware would (200, or 401). Used by tests/webhooks/php-verifier.test.ts.

require __DIR__ . '/app/Http/Middleware/VerifyWaConnectWebhook.php';

use App\Http\Middleware\VerifyWaConnectWebhook;

$secret = (string) getenv('WA_CONNECT_WEBHOOK_SECRET');
$rawBody = (string) file_get_contents('php://input');
$headers = getallheaders();
$only = static fn (array $names): array => array_filter(
    $headers,
    static fn (string $key): bool => in_array(strtolower($key), $names, true),
    ARRAY_FILTER_USE_KEY
);

$both = VerifyWaConnectWebhook::verify($headers, $rawBody, $secret);
$record = [
    'event' => json_decode($rawBody, true)['event'] ?? null,
    'both' => $both,
    'legacy' => VerifyWaConnectWebhook::verify($only(['x-timestamp', 'x-hmac-signature']), $rawBody, $secret),
    'standard' => VerifyWaConnectWebhook::verify(
        $only(['webhook-id', 'webhook-timestamp', 'webhook-signature']),
        $rawBody,
        $secret
    ),
    'tampered' => VerifyWaConnectWebhook::verify($headers, $rawBody . ' ', $secret),
    'wrongSecret' => VerifyWaConnectWebhook::verify($headers, $rawBody, 'not-the-secret'),
];
file_put_contents((string) getenv('WA_RECEIVER_LOG'), json_encode($record) . "\n", FILE_APPEND | LOCK_EX);
http_response_code($both['ok'] ? 200 : 401);

/**
 * Where the Temporal Web UI lives behind the API (api/plugins/operator-console.ts): the UI server is started with
 * this public path, so the API proxies it unchanged, and calls the API's codec endpoint from the operator's browser
 * (same origin, so the operator's session cookie goes with it).
 */
export const TEMPORAL_UI_PUBLIC_PATH = '/temporal';
export const TEMPORAL_UI_CODEC_ENDPOINT = '/v1/admin/temporal-codec';

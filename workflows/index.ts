// The workflow bundle's entry point: every workflow the worker registers.
export { accountConnection } from './account-connection.js';
export { webhookDelivery } from './webhook-delivery.js';
export { sessionScreenshot } from './session-screenshot.js';
export { webhookResend } from './webhook-resend.js';
export { webBuildCanary } from './web-build-canary.js';

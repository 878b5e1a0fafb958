// Security headers on every response of the gateway: API answers, assets, errors and 404s alike.

import type { FastifyInstance } from 'fastify';

/**
 * Adds the base headers to every response; an answer without its own Content-Security-Policy (the
 * API's JSON and text) gets one that allows nothing, so a body rendered as a page can run nothing
 * and be framed nowhere. The web page sets its own policy (routes/web-ui.ts).
 */
export function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('cross-origin-resource-policy', 'same-origin');
    reply.header('permissions-policy', 'camera=(), microphone=(), geolocation=(), usb=(), serial=()');
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
  });
}

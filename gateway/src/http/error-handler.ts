// The one error handler: deliberate errors (GatewayError, validation, <500) pass through as
// {error:{code,message}}; anything else is logged and answered with a generic 500.

import type { FastifyError, FastifyInstance } from 'fastify';
import { GatewayError } from '../errors.js';
import { NotSupportedError } from '../devices/transport.js';

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | GatewayError | Error, request, reply) => {
    if (err instanceof GatewayError) {
      return reply.status(err.statusCode).send({ error: { code: err.code, message: err.message } });
    }
    if (err instanceof NotSupportedError) {
      return reply.status(409).send({ error: { code: 'NotSupported', message: err.reason } });
    }
    // Errors of the identity store and the audit log carry their status as httpStatus.
    const withStatus = err as { httpStatus?: number; code?: string };
    if (typeof withStatus.httpStatus === 'number' && typeof withStatus.code === 'string') {
      if (withStatus.httpStatus >= 500) request.log.error({ err }, 'service error');
      return reply.status(withStatus.httpStatus).send({ error: { code: withStatus.code, message: err.message } });
    }
    // The database refused a write (disk full, read-only, I/O error): nothing was done, say so.
    if (err.name === 'SqliteError' && typeof withStatus.code === 'string' && withStatus.code.startsWith('SQLITE_')) {
      request.log.error({ err }, 'database write failed');
      return reply.status(503).send({ error: { code: 'DatabaseUnavailable', message: `the gateway database cannot be written (${withStatus.code}); nothing was changed: tell the administrator` } });
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      return reply.status(400).send({ error: { code: 'ValidationFailed', message: `${fe.validationContext ?? 'request'}${fe.message.replace(/^(body|querystring|params)/, '')}` } });
    }
    if (fe.statusCode && fe.statusCode < 500) {
      return reply.status(fe.statusCode).send({ error: { code: fe.code ?? 'BadRequest', message: fe.message } });
    }
    request.log.error({ err }, 'unexpected error');
    return reply.status(500).send({ error: { code: 'InternalError', message: 'internal error; the gateway log has the details' } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: 'NotFound', message: `no route ${request.method} ${request.url.split('?')[0]}` } }),
  );
}

import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { problem, PROBLEM_CONTENT_TYPE } from './problem.js';

/**
 * Errors Fastify answers before any route or hook runs (a path segment too long for the router, a malformed URL):
 * problem details like every other answer, never echoing the offending URL back.
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const details =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? problem(414, 'uri_too_long', 'URI Too Long', 'a path segment is longer than any identifier this API has')
      : problem(400, 'bad_url', 'Bad Request', 'the URL is malformed');
  void reply.code(details.status).type(PROBLEM_CONTENT_TYPE).send(details);
}

/**
 * Errors Node's HTTP parser meets before Fastify sees a request (headers or URL over 16 KiB, a request that took too
 * long to arrive, bytes that are not HTTP): one problem-details answer on the raw socket, then the socket closes.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const details =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? problem(431, 'request_too_large', 'Request Header Fields Too Large', 'the URL and headers exceed 16 KiB')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? problem(408, 'request_timeout', 'Request Timeout', 'the request did not arrive whole in time')
        : problem(400, 'bad_request', 'Bad Request', 'the request is not valid HTTP');
  const body = JSON.stringify(details);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${details.status} ${details.title}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

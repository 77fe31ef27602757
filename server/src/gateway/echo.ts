/**
 * The transport's own cost, measured: a bare uWebSockets.js server with the gateway's socket
 * settings that answers every message at once and does nothing else. The load test drives it with
 * the same generator, message sizes and rate as the real server, so a decision's CPU, latency and
 * memory can be quoted as multiples of this echo measured in the same run on the same machine.
 *
 * Each answer is the message itself, padded with zero bytes to `replyBytes` (the size of a typical
 * `frame` message), so both servers write as many bytes as they would. `GET /stats` reports the
 * process's own CPU time and resident memory, as the real server's `/metrics` does.
 */
import uWS from 'uWebSockets.js';
import { limits } from '../limits.js';
import { socketSettings } from './gateway.js';

export type EchoStats = { cpuSeconds: number; residentBytes: number; heapUsedBytes: number; heapTotalBytes: number; connections: number; messages: number };
export type EchoServer = { port: number; stats: () => EchoStats; close: () => void };

export function startEchoServer(options: { host: string; port: number; replyBytes: number }): Promise<EchoServer> {
  const { replyBytes } = options;
  if (!Number.isInteger(replyBytes) || replyBytes < 0 || replyBytes > limits.transportPayloadBytesMax) {
    throw new RangeError(`replyBytes must be an integer from 0 to ${limits.transportPayloadBytesMax}`);
  }
  let connections = 0;
  let messages = 0;
  // One reusable answer buffer: the echo allocates nothing per message.
  const reply = new Uint8Array(Math.max(replyBytes, 1024));
  const stats = (): EchoStats => {
    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    return { cpuSeconds: (cpu.user + cpu.system) / 1e6, residentBytes: memory.rss, heapUsedBytes: memory.heapUsed, heapTotalBytes: memory.heapTotal, connections, messages };
  };
  const app = uWS.App();
  app.ws('/v1/stream', {
    ...socketSettings,
    open: () => {
      connections += 1;
    },
    message: (socket, message, isBinary) => {
      messages += 1;
      const length = Math.max(message.byteLength, replyBytes);
      const out = length <= reply.length ? reply : new Uint8Array(length);
      out.set(new Uint8Array(message), 0);
      out.fill(0, message.byteLength, length);
      socket.send(out.subarray(0, length), isBinary);
    },
    close: () => {
      connections -= 1;
    },
  });
  // `/stats?gc=1` first runs a full collection when the process has `--expose-gc`, as the real
  // server's `POST /v1/admin/gc` does before a memory reading.
  app.get('/stats', (response, request) => {
    if (new URLSearchParams(request.getQuery() ?? '').get('gc') === '1') (globalThis as { gc?: () => void }).gc?.();
    response.cork(() => response.writeHeader('content-type', 'application/json').end(JSON.stringify(stats())));
  });
  return new Promise((resolve, reject) => {
    app.listen(options.host, options.port, (listenSocket) => {
      if (listenSocket === false) return reject(new Error(`cannot listen on ${options.host}:${options.port}`));
      resolve({
        port: uWS.us_socket_local_port(listenSocket as unknown as uWS.us_socket),
        stats,
        close: () => (app as unknown as { close: () => void }).close(),
      });
    });
  });
}

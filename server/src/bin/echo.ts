/**
 * `node --import tsx server/src/bin/echo.ts [--host H] [--port P] [--reply-bytes N]`: the bare
 * WebSocket echo the load test measures the server against (see gateway/echo.ts). Prints
 * `echo listening on http://HOST:PORT` when ready; stops on SIGINT or SIGTERM.
 */
import { parseArgs } from 'node:util';
import { startEchoServer } from '../gateway/echo.js';

const { values } = parseArgs({
  options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '0' }, 'reply-bytes': { type: 'string', default: '0' } },
  strict: true,
});
const port = Number(values.port);
const replyBytes = Number(values['reply-bytes']);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write('--port must be an integer from 0 to 65535\n');
  process.exit(2);
}
try {
  const echo = await startEchoServer({ host: values.host, port, replyBytes });
  process.stdout.write(`echo listening on http://${values.host}:${echo.port}\n`);
  const stop = () => {
    echo.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (error) {
  process.stderr.write(`echo: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}

/*
 * The transport ceiling: Node's own http server answering a small JSON body,
 * nothing else. What no framework on this core and this load generator can beat.
 */
import { createServer } from 'node:http';
import { cpuMicros, memoryMb, serveParent } from '../lib/ipc.js';

const body = JSON.stringify({ active: true, scope: 'openid profile email', sub: 'bench' });
const server = createServer((_request, response) => {
  response.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();
const port = typeof address === 'object' && address ? address.port : 0;

serveParent(
  {
    cpu: () => cpuMicros(),
    memory: () => memoryMb(),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  },
  { url: `http://127.0.0.1:${port}` },
);

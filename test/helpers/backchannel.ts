import { createServer, type Server } from 'node:http';

export interface BackchannelReceiver {
  url: string;
  /** The logout tokens received, in order. */
  received: string[];
  close(): Promise<void>;
}

/** A relying party's back-channel logout endpoint that records what it receives. */
export async function backchannelReceiver(): Promise<BackchannelReceiver> {
  const received: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push(new URLSearchParams(body).get('logout_token') ?? '');
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/backchannel`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

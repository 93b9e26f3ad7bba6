import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a real server (PostgreSQL, Redis), that a test can break
 * the way networks and restarts do: cut every connection, refuse new ones,
 * or stop passing answers back.
 */
export interface TcpProxy {
  /** The URL of `target` with its host and port replaced by the proxy's. */
  url: string;
  /** Destroys every open connection, as a restart or failover of the server would. */
  cut(): void;
  /**
   * Cuts every connection and resets each new one as it comes (as a server that is down does),
   * keeping the port: nothing else can take it before accept().
   */
  refuse(): Promise<void>;
  /** Passes new connections on again. */
  accept(): Promise<void>;
  /** Stops passing the server's answers back; resolves when a client next sends something. */
  stall(): Promise<void>;
  close(): Promise<void>;
}

export async function tcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const host = target.hostname;
  const port = Number(target.port || (target.protocol.startsWith('redis') ? 6379 : 5432));
  const sockets = new Set<Socket>();
  let stalled = false;
  let refusing = false;
  let onClientData: (() => void) | undefined;

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };

  const handle = (client: Socket) => {
    if (refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ host, port });
    track(client);
    track(upstream);
    client.on('data', (chunk) => {
      upstream.write(chunk);
      onClientData?.();
    });
    upstream.on('data', (chunk) => {
      if (!stalled) client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as { port: number }).port);

  const cut = () => {
    stalled = false;
    for (const socket of sockets) socket.destroy();
  };

  return {
    url: url.toString(),
    cut,
    async refuse() {
      refusing = true;
      cut();
    },
    async accept() {
      refusing = false;
    },
    stall() {
      stalled = true;
      return new Promise<void>((resolve) => {
        onClientData = () => {
          onClientData = undefined;
          resolve();
        };
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        cut();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port held for a server that starts later, and passed on to it. */
export interface Relay {
  /** http://127.0.0.1:PORT, PORT being the relay's own. */
  url: string;
  /** Passes every connection, from now on, to this loopback port. */
  to(port: number): void;
  close(): Promise<void>;
}

/**
 * A reverse proxy in front of a `tessera start` that listens on a port the system chooses: the
 * issuer is configuration, so it must be known before the server starts, and its own port is
 * known only once it has (it prints it). The relay's port, taken first and kept, is the issuer.
 */
export async function relay(): Promise<Relay> {
  let target: number | undefined;
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = createServer((client) => {
    track(client);
    if (target === undefined) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port: target });
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    to(port) {
      target = port;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

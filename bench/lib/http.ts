import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** Sent as application/x-www-form-urlencoded. */
  form?: Record<string, string>;
  /** A body sent as is, with the caller's content-type. */
  body?: string;
}

/** One request over `agent` (keep-alive), reading the whole body. */
export function send(agent: Agent, url: URL, options: RequestOptions = {}): Promise<Response> {
  const body = options.form ? new URLSearchParams(options.form).toString() : options.body;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        agent,
        method: options.method ?? (body ? 'POST' : 'GET'),
        headers: {
          ...options.headers,
          ...(options.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          ...(body ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export const keepAlive = () => new Agent({ keepAlive: true, maxSockets: 1 });

export function basicAuth(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s);
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

/** The parameters of a redirect's Location (query or fragment). */
export function redirectParams(response: Response, base: string): URLSearchParams {
  const location = response.headers.location;
  if (!location) {
    throw new Error(`expected a redirect, got ${response.status}: ${response.body.slice(0, 300)}`);
  }
  const url = new URL(location, base);
  return url.hash ? new URLSearchParams(url.hash.slice(1)) : url.searchParams;
}

/** A minimal cookie jar for one origin, enough to drive sign-in pages and interactions. */
export class Browser {
  readonly cookies = new Map<string, string>();
  readonly agent = keepAlive();
  /** The path of the last request, e.g. the interaction page a redirect led to. */
  lastPath = '/';

  constructor(readonly origin: string) {}

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(path: string, options: RequestOptions = {}): Promise<Response> {
    this.lastPath = path;
    const response = await send(this.agent, new URL(path, this.origin), {
      ...options,
      headers: {
        ...options.headers,
        ...(this.cookies.size ? { cookie: this.cookieHeader() } : {}),
      },
    });
    for (const line of response.headers['set-cookie'] ?? []) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  /** Follows redirects within this origin until one leaves it (or a page is shown). */
  async follow(response: Response): Promise<Response> {
    let current = response;
    for (let hops = 0; hops < 10; hops += 1) {
      const location = current.headers.location;
      if (!location || current.status < 300 || current.status >= 400) return current;
      const next = new URL(location, this.origin);
      if (next.origin !== this.origin) return current;
      current = await this.request(next.pathname + next.search);
    }
    throw new Error('too many redirects');
  }

  close(): void {
    this.agent.destroy();
  }
}

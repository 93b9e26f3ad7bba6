/**
 * A minimal browser for tests over real HTTP: a cookie jar, manual or
 * automatic redirects, and form reading (hidden fields, CSRF token) from the
 * HTML Tessera serves. It does what a person's browser does with our pages,
 * without JavaScript, which the pages must not need.
 */

export interface Page {
  status: number;
  url: string;
  headers: Headers;
  text: string;
  /** Location header of a redirect, resolved against the request URL. */
  location?: string;
}

export interface Form {
  action: string;
  method: string;
  fields: Record<string, string>;
  /** Labels of submit buttons in the form, e.g. ["Allow", "Deny"]. */
  buttons: { name?: string; value?: string; label: string }[];
}

const decode = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#x2F;/g, '/')
    .replace(/&#x3D;/g, '=')
    .replace(/&#96;/g, '`')
    .replace(/&amp;/g, '&');

function attr(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  if (!match) return undefined;
  return decode(match[2] ?? match[3] ?? match[4] ?? '');
}

/** Every form on a page, with its inputs' current values. */
export function readForms(html: string, baseUrl: string): Form[] {
  const forms: Form[] = [];
  const formRe = /<form\b([^>]*)>([\s\S]*?)<\/form>/gi;
  for (let m = formRe.exec(html); m; m = formRe.exec(html)) {
    const open = m[1] ?? '';
    const inner = m[2] ?? '';
    const fields: Record<string, string> = {};
    for (const input of inner.match(/<input\b[^>]*>/gi) ?? []) {
      const name = attr(input, 'name');
      const type = (attr(input, 'type') ?? 'text').toLowerCase();
      if (!name || type === 'submit') continue;
      if ((type === 'checkbox' || type === 'radio') && !/\schecked\b/i.test(input)) continue;
      fields[name] = attr(input, 'value') ?? (type === 'checkbox' ? 'on' : '');
    }
    for (const ta of inner.matchAll(/<textarea\b([^>]*)>([\s\S]*?)<\/textarea>/gi)) {
      const name = attr(ta[1] ?? '', 'name');
      if (name) fields[name] = decode(ta[2] ?? '');
    }
    const buttons = [...inner.matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/gi)].map((b) => ({
      name: attr(b[1] ?? '', 'name'),
      value: attr(b[1] ?? '', 'value'),
      label: decode((b[2] ?? '').replace(/<[^>]+>/g, '').trim()),
    }));
    forms.push({
      action: new URL(attr(open, 'action') ?? baseUrl, baseUrl).toString(),
      method: (attr(open, 'method') ?? 'get').toLowerCase(),
      fields,
      buttons,
    });
  }
  return forms;
}

/** The `for`→id of each <label>, so tests can fill a field by its visible label. */
export function fieldNameByLabel(html: string, label: string): string | undefined {
  for (const m of html.matchAll(/<label\b([^>]*)>([\s\S]*?)<\/label>/gi)) {
    const text = decode((m[2] ?? '').replace(/<[^>]+>/g, '').trim());
    if (text !== label) continue;
    const id = attr(m[1] ?? '', 'for');
    if (!id) {
      const nested = /<input\b[^>]*>/i.exec(m[2] ?? '');
      return nested ? attr(nested[0], 'name') : undefined;
    }
    const input = new RegExp(
      `<(input|textarea|select)\\b[^>]*\\sid\\s*=\\s*"${id}"[^>]*>`,
      'i',
    ).exec(html);
    return input ? attr(input[0], 'name') : undefined;
  }
  return undefined;
}

export class Browser {
  readonly cookies = new Map<string, string>();

  constructor(readonly base: string) {}

  private absolute(path: string): string {
    return new URL(path, this.base).toString();
  }

  private store(headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some(
        (a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a),
      );
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** One request, no redirect following. */
  async request(path: string, init: RequestInit = {}): Promise<Page> {
    const url = this.absolute(path);
    const headers = new Headers(init.headers);
    if (this.cookies.size && new URL(url).origin === new URL(this.base).origin) {
      headers.set('cookie', this.cookieHeader());
    }
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.store(res.headers);
    const location = res.headers.get('location');
    return {
      status: res.status,
      url,
      headers: res.headers,
      text: await res.text(),
      ...(location ? { location: new URL(location, url).toString() } : {}),
    };
  }

  get(path: string): Promise<Page> {
    return this.request(path);
  }

  post(path: string, form: Record<string, string>): Promise<Page> {
    return this.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
  }

  /**
   * Follows redirects that stay on the server's origin; stops at the first
   * redirect elsewhere (a client's redirect URI) and returns it unfollowed.
   */
  async follow(page: Page, max = 10): Promise<Page> {
    let current = page;
    for (let i = 0; i < max && current.location; i++) {
      if (new URL(current.location).origin !== new URL(this.base).origin) return current;
      current = await this.get(current.location);
    }
    return current;
  }

  /**
   * Submits the form on `page` that has a button labelled `button` (or the
   * only form), with `values` filled in by field name or by visible label.
   */
  async submit(page: Page, values: Record<string, string> = {}, button?: string): Promise<Page> {
    const forms = readForms(page.text, page.url);
    const form = button ? forms.find((f) => f.buttons.some((b) => b.label === button)) : forms[0];
    if (!form)
      throw new Error(`no form${button ? ` with a "${button}" button` : ''} on ${page.url}`);
    const fields = { ...form.fields };
    for (const [key, value] of Object.entries(values)) {
      fields[fieldNameByLabel(page.text, key) ?? key] = value;
    }
    const pressed = button ? form.buttons.find((b) => b.label === button) : undefined;
    if (pressed?.name) fields[pressed.name] = pressed.value ?? '';
    if (form.method === 'get') {
      const url = new URL(form.action);
      for (const [k, v] of Object.entries(fields)) url.searchParams.set(k, v);
      return this.get(url.toString());
    }
    return this.post(form.action, fields);
  }
}

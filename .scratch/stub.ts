export function metadataHandler(o: any) {
  return (req: any, res: any, next: any) => {
    if (req.url === '/.well-known/oauth-protected-resource/mcp') { res.setHeader('content-type','application/json'); return res.end(JSON.stringify({resource:o.resource, authorization_servers:[o.issuer]})); }
    next();
  };
}
export function bearerAuth(o: any) {
  return (req: any, res: any, next: any) => {
    const h = req.headers.authorization ?? '';
    if (!h.startsWith('Bearer ')) { res.statusCode = 401; res.setHeader('www-authenticate', `Bearer resource_metadata="x"`); return res.end(); }
    const scopes = h.slice(7).split(',');
    const missing = (o.requiredScopes ?? []).filter((s: string) => !scopes.includes(s));
    if (missing.length) { res.statusCode = 403; res.setHeader('www-authenticate', `Bearer error="insufficient_scope", scope="${missing.join(' ')}"`); return res.end(); }
    req.auth = { token: h.slice(7), clientId: 'c1', scopes, extra: { sub: 'u1', claims: { aud: o.resource } } };
    next();
  };
}

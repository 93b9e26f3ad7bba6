import { expect, it } from 'vitest';
import { startMcpServer } from '../examples/mcp-server/server.js';
it('works', async () => {
  const s = await startMcpServer({ issuer: 'http://x' });
  const call = async (token: string, body: unknown) => {
    const r = await fetch(s.url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify(body) });
    return [r.status, r.headers.get('www-authenticate'), await r.text()];
  };
  console.log(await call('notes:read', { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }));
  console.log(await call('notes:read', { jsonrpc: '2.0', id: 2, method: 'tools/list' }));
  console.log(await call('notes:read', { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'whoami', arguments: {} } }));
  console.log(await call('notes:read', { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'add_note', arguments: {text:'a'} } }));
  console.log(await call('notes:read,notes:write', { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'add_note', arguments: {text:'a'} } }));
  console.log(await call('notes:read,notes:write', { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'add_note', arguments: {text:''} } }));
  console.log(await call('notes:read', { jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'list_notes', arguments: {} } }));
  console.log(await fetch(s.url).then(r => r.status));
  console.log(await fetch(s.url, {headers:{authorization:'Bearer a'}}).then(r => r.status));
  console.log(await call('a', '{'));
  await s.close();
});

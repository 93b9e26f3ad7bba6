import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import {
  metadataHandler,
  metadataPath,
  metadataUrl,
  protectedResourceMetadata,
  type ResourceOptions,
  tesseraResource,
} from '../../src/resource/index.js';

/** RFC 9728: the metadata document, where it lives, and who serves it. Nothing here needs Tessera. */
const MCP: ResourceOptions = {
  issuer: 'https://id.example.com',
  resource: 'https://mcp.example.com/mcp',
  scopesSupported: ['mcp:tools'],
  resourceName: 'Example MCP server',
  resourceDocumentation: 'https://mcp.example.com/docs',
};

describe('tessera/resource: protected resource metadata (RFC 9728)', () => {
  it('inserts the well-known path between the host and the resource’s path (§3.1)', () => {
    expect(metadataPath('https://mcp.example.com/mcp')).toBe(
      '/.well-known/oauth-protected-resource/mcp',
    );
    expect(metadataUrl('https://mcp.example.com/mcp')).toBe(
      'https://mcp.example.com/.well-known/oauth-protected-resource/mcp',
    );
    expect(metadataPath('https://api.example.com')).toBe('/.well-known/oauth-protected-resource');
    expect(metadataPath('https://api.example.com/')).toBe('/.well-known/oauth-protected-resource');
    expect(metadataPath('https://api.example.com/v1/orders/')).toBe(
      '/.well-known/oauth-protected-resource/v1/orders/',
    );
    expect(metadataUrl('http://127.0.0.1:8080/mcp')).toBe(
      'http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp',
    );
  });

  it('refuses a resource that is not an absolute http(s) URL without a fragment', () => {
    expect(() => metadataPath('/mcp')).toThrow(/absolute URL/);
    expect(() => metadataPath('https://mcp.example.com/mcp#x')).toThrow(/fragment/);
    expect(() => metadataPath('urn:example:api')).toThrow(/http\(s\)/);
  });

  it('says where tokens come from and how they are sent', () => {
    expect(protectedResourceMetadata(MCP)).toEqual({
      resource: 'https://mcp.example.com/mcp',
      authorization_servers: ['https://id.example.com'],
      scopes_supported: ['mcp:tools'],
      bearer_methods_supported: ['header'],
      resource_name: 'Example MCP server',
      resource_documentation: 'https://mcp.example.com/docs',
    });
    expect(
      protectedResourceMetadata({ issuer: 'https://id.example.com', resource: 'https://a.b' }),
    ).toEqual({
      resource: 'https://a.b',
      authorization_servers: ['https://id.example.com'],
      bearer_methods_supported: ['header'],
    });
  });

  it('the Fastify plugin serves it at the path, readable from other origins', async () => {
    const app = Fastify();
    await app.register(tesseraResource, MCP);
    const res = await app.inject('/.well-known/oauth-protected-resource/mcp');
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.json()).toEqual(protectedResourceMetadata(MCP));
    expect((await app.inject('/.well-known/oauth-protected-resource')).statusCode).toBe(404);
    await app.close();
  });

  it('the Fastify plugin serves two resources from two child contexts', async () => {
    const app = Fastify();
    const second = { ...MCP, resource: 'https://mcp.example.com/other' };
    for (const options of [MCP, second]) {
      await app.register(async (child) => {
        await child.register(tesseraResource, options);
        const path = new URL(options.resource).pathname;
        child.get(path, { preHandler: child.requireToken() }, async () => 'ok');
      });
    }
    const meta = await app.inject('/.well-known/oauth-protected-resource/other');
    expect(meta.json().resource).toBe('https://mcp.example.com/other');
    const res = await app.inject('/other');
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe(
      'Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/other"',
    );
    await app.close();
  });

  it('metadataHandler answers GET and HEAD at its path, passes the rest to next, 404 without next', async () => {
    const slashed = metadataHandler({ ...MCP, resource: 'https://api.example.com/v1/' });
    const answered = await new Promise<number>((resolve) => {
      const req = { method: 'GET', url: '/.well-known/oauth-protected-resource/v1' };
      const res = { writeHead: (status: number) => resolve(status), end: () => undefined };
      slashed(req as never, res as never, () => resolve(0));
    });
    expect(answered).toBe(200);
    const handler = metadataHandler(MCP);
    let passed = 0;
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/alone')) {
        req.url = req.url.slice('/alone'.length);
        return handler(req, res);
      }
      handler(req, res, () => {
        passed += 1;
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const get = await fetch(`${base}/.well-known/oauth-protected-resource/mcp?x=1`);
      expect(get.status).toBe(200);
      expect(await get.json()).toEqual(protectedResourceMetadata(MCP));
      const head = await fetch(`${base}/.well-known/oauth-protected-resource/mcp`, {
        method: 'HEAD',
      });
      expect(head.status).toBe(200);
      expect(
        (await fetch(`${base}/.well-known/oauth-protected-resource/mcp`, { method: 'POST' }))
          .status,
      ).toBe(204);
      expect((await fetch(`${base}/mcp`)).status).toBe(204);
      expect(passed).toBe(2);
      const alone = await fetch(`${base}/alone/elsewhere`);
      expect(alone.status).toBe(404);
      expect(((await alone.json()) as { error_description: string }).error_description).toMatch(
        /oauth-protected-resource\/mcp/,
      );
    } finally {
      server.close();
    }
  });
});

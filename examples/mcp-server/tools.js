// @ts-check
/*
 * The example's tools, and the scope each needs. The table is read twice: by the HTTP layer
 * (server.js), which answers 403 insufficient_scope before the MCP machinery runs, so that a
 * client can ask its user for the missing scope (the MCP specification's step-up); and by each
 * tool itself, so that a tool never runs for a token without its scope, whatever the path.
 */
import { z } from 'zod';

/** The scopes the example's API is registered with in Tessera. */
export const SCOPES = ['notes:read', 'notes:write'];

/** Tool name → the scopes a token needs to call it (none: any valid token for this server). */
export const TOOL_SCOPES = {
  whoami: [],
  list_notes: ['notes:read'],
  add_note: ['notes:write'],
};

/**
 * @typedef {import('@modelcontextprotocol/sdk/server/mcp.js').McpServer} McpServer
 * @typedef {import('@modelcontextprotocol/sdk/server/auth/types.js').AuthInfo} AuthInfo
 * @typedef {{ content: { type: 'text', text: string }[], isError?: boolean }} ToolResult
 */

/** @param {unknown} value @returns {ToolResult} */
const json = (value) => ({ content: [{ type: 'text', text: JSON.stringify(value, null, 2) }] });

/** @param {string} text @returns {ToolResult} */
const refusal = (text) => ({ content: [{ type: 'text', text }], isError: true });

/**
 * The subject of the token: its `sub` claim, as the kit gives it in `extra`.
 * @param {AuthInfo | undefined} auth
 */
function subjectOf(auth) {
  const extra = /** @type {{ sub?: unknown } | undefined} */ (auth?.extra);
  return typeof extra?.sub === 'string' ? extra.sub : undefined;
}

/**
 * Runs `tool` only when the caller's token holds every scope it needs.
 * @param {keyof typeof TOOL_SCOPES} name
 * @param {AuthInfo | undefined} auth
 * @param {() => ToolResult} tool
 * @returns {ToolResult}
 */
function guarded(name, auth, tool) {
  const missing = TOOL_SCOPES[name].filter((scope) => !auth?.scopes.includes(scope));
  if (!auth || missing.length > 0) return refusal(`${name} needs the scope ${missing.join(' ')}`);
  return tool();
}

/**
 * Registers the tools on `server`. `notes` holds each subject's notes: the example keeps them in
 * memory, shared by every request to one running server.
 * @param {McpServer} server
 * @param {Map<string, string[]>} notes
 */
export function registerTools(server, notes) {
  server.registerTool(
    'whoami',
    {
      description: 'Who is calling: the subject, client, scopes and audience of the access token',
      annotations: { readOnlyHint: true },
    },
    (extra) =>
      guarded('whoami', extra.authInfo, () => {
        const auth = /** @type {AuthInfo} */ (extra.authInfo);
        const kit = /** @type {{ claims?: Record<string, unknown> } | undefined} */ (auth.extra);
        const claims = kit?.claims;
        return json({
          subject: subjectOf(auth),
          client_id: auth.clientId,
          scopes: auth.scopes,
          audience: claims?.aud,
          expires_at: auth.expiresAt,
        });
      }),
  );

  server.registerTool(
    'list_notes',
    {
      description: "The caller's notes (needs the scope notes:read)",
      annotations: { readOnlyHint: true },
    },
    (extra) =>
      guarded('list_notes', extra.authInfo, () =>
        json(notes.get(subjectOf(extra.authInfo) ?? '') ?? []),
      ),
  );

  server.registerTool(
    'add_note',
    {
      description: 'Adds a note for the caller (needs the scope notes:write)',
      inputSchema: { text: z.string().min(1).max(1000) },
    },
    ({ text }, extra) =>
      guarded('add_note', extra.authInfo, () => {
        const subject = subjectOf(extra.authInfo) ?? '';
        const list = notes.get(subject) ?? [];
        list.push(text);
        notes.set(subject, list);
        return json(list);
      }),
  );
}

/**
 * The scopes a JSON-RPC message (or batch) needs: those of the tools it calls.
 * @param {unknown} body
 * @returns {string[]}
 */
export function scopesNeeded(body) {
  const messages = Array.isArray(body) ? body : [body];
  const scopes = new Set();
  for (const message of messages) {
    if (message?.method !== 'tools/call') continue;
    const name = message.params?.name;
    if (typeof name === 'string' && Object.hasOwn(TOOL_SCOPES, name)) {
      for (const scope of TOOL_SCOPES[/** @type {keyof typeof TOOL_SCOPES} */ (name)]) {
        scopes.add(scope);
      }
    }
  }
  return [...scopes].sort();
}

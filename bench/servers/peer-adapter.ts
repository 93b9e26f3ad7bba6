import type { Adapter, AdapterPayload } from 'oidc-provider';

/*
 * oidc-provider's storage for the benchmark: plain Maps that never evict.
 * Its bundled MemoryAdapter is an LRU of 1,000 entries, which would drop the
 * tokens a scenario is still using; nothing expires here during a run either.
 */
const rows = new Map<string, AdapterPayload>();
const byUid = new Map<string, string>();
const byUserCode = new Map<string, string>();
const byGrant = new Map<string, Set<string>>();

export class MapAdapter implements Adapter {
  constructor(private readonly model: string) {}

  private key(id: string): string {
    return `${this.model}:${id}`;
  }

  async upsert(id: string, payload: AdapterPayload): Promise<void> {
    const key = this.key(id);
    rows.set(key, payload);
    if (payload.uid) byUid.set(payload.uid, id);
    if (payload.userCode) byUserCode.set(payload.userCode, id);
    if (payload.grantId) {
      const members = byGrant.get(payload.grantId) ?? new Set<string>();
      members.add(key);
      byGrant.set(payload.grantId, members);
    }
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return rows.get(this.key(id));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const id = byUid.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const id = byUserCode.get(userCode);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id: string): Promise<void> {
    const row = rows.get(this.key(id));
    if (row) row.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id: string): Promise<void> {
    rows.delete(this.key(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    for (const key of byGrant.get(grantId) ?? []) rows.delete(key);
    byGrant.delete(grantId);
  }
}

/** How many rows the adapter holds (every model together). */
export const storedRows = (): number => rows.size;

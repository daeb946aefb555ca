// Small HTTP helpers over the sandboxes' /_sandbox/ controls, for tests and benchmarks.

export async function call<T = unknown>(method: string, url: string, body?: unknown): Promise<T> {
  const response = await fetch(url, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url} → ${response.status}: ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export interface SandboxContact {
  id: string;
  properties: Record<string, string | null | undefined>;
  createdAt: string;
  updatedAt: string;
}

export async function contactsWith(hubspotUrl: string, property: string, value: string): Promise<SandboxContact[]> {
  const view = await call<{ contacts: SandboxContact[] }>('GET', `${hubspotUrl}/_sandbox/contacts?property=${encodeURIComponent(property)}&value=${encodeURIComponent(value)}`);
  return view.contacts;
}

/** The one contact of a LINE user, or undefined; more than one is a duplicate and throws. */
export async function lineContact(hubspotUrl: string, userId: string): Promise<SandboxContact | undefined> {
  const found = await contactsWith(hubspotUrl, 'line_user_id', userId);
  if (found.length > 1) throw new Error(`${found.length} contacts for ${userId}: duplicates`);
  return found[0];
}

export async function allContacts(hubspotUrl: string): Promise<SandboxContact[]> {
  return (await call<{ contacts: SandboxContact[] }>('GET', `${hubspotUrl}/_sandbox/contacts`)).contacts;
}

export const seedFriend = (lineUrl: string, friend: { userId: string; displayName?: string; pictureUrl?: string }) => call('POST', `${lineUrl}/_sandbox/friends`, { friends: [friend] });
export const blockFriend = (lineUrl: string, userId: string) => call('POST', `${lineUrl}/_sandbox/friends/${userId}/block`);
export const unblockFriend = (lineUrl: string, userId: string) => call('POST', `${lineUrl}/_sandbox/friends/${userId}/follow`);
export const injectFaults = (baseUrl: string, rule: { status: number; count: number; pathPrefix?: string }) => call('POST', `${baseUrl}/_sandbox/faults`, rule);
export const clearFaults = (baseUrl: string) => call('DELETE', `${baseUrl}/_sandbox/faults`);
export const sandboxStats = <T = Record<string, unknown>>(baseUrl: string) => call<T>('GET', `${baseUrl}/_sandbox/stats`);

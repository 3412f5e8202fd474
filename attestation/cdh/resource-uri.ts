/** KBS resource URIs: `kbs:///<repository>/<type>/<tag>` (or `kbs://<host:port>/...`; the host is informational). */

export interface ResourceUri {
  kbsAddress: string;
  repository: string;
  type: string;
  tag: string;
}

const SEG = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export class ResourceUriError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResourceUriError';
  }
}

export function isResourceUri(s: string): boolean {
  return s.startsWith('kbs://');
}

export function parseResourceUri(s: string): ResourceUri {
  const m = /^kbs:\/\/([^/]*)\/([^/?#]+)\/([^/?#]+)\/([^/?#]+)$/.exec(s);
  if (!m) throw new ResourceUriError(`${JSON.stringify(s)} is not a resource URI kbs:///<repository>/<type>/<tag>`);
  const [, host, repository, type, tag] = m as unknown as [string, string, string, string, string];
  for (const p of [repository, type, tag]) {
    if (!SEG.test(p) || p.includes('..'))
      throw new ResourceUriError(`resource URI ${JSON.stringify(s)}: invalid segment ${JSON.stringify(p)}`);
  }
  return { kbsAddress: host, repository, type, tag };
}

export function resourcePath(u: ResourceUri): string {
  return `${u.repository}/${u.type}/${u.tag}`;
}

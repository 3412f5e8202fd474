/**
 * User and group resolution the way containerd + kubelet do it: runAsUser/runAsGroup win; otherwise the image
 * `User` ("name", "uid", "name:group", "uid:gid") is resolved through the image's /etc/passwd and /etc/group;
 * supplementary groups = primary GID + /etc/group memberships of the user + supplementalGroups + fsGroup.
 */
import { GenpolicyError } from './errors.js';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}
export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export function parsePasswd(text: string | undefined): PasswdEntry[] {
  if (!text) return [];
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 4) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    out.push({ name: f[0]!, uid, gid });
  }
  return out;
}

export function parseGroup(text: string | undefined): GroupEntry[] {
  if (!text) return [];
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 3) continue;
    const gid = Number(f[2]);
    if (!Number.isInteger(gid)) continue;
    out.push({
      name: f[0]!,
      gid,
      members: (f[3] ?? '')
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean),
    });
  }
  return out;
}

export interface ResolvedUser {
  UID: number;
  GID: number;
  AdditionalGids: number[];
  /** Which values came only from the image (for the guest-pull check). */
  fromImage: { uid: boolean; gid: boolean; groups: number[] };
}

export interface UserInputs {
  imageUser?: string;
  passwd?: string;
  group?: string;
  runAsUser?: number;
  runAsGroup?: number;
  supplementalGroups?: number[];
  fsGroup?: number;
  where: string;
}

const isNum = (s: string): boolean => /^[0-9]+$/.test(s);

export function resolveUser(inp: UserInputs): ResolvedUser {
  const users = parsePasswd(inp.passwd);
  const groups = parseGroup(inp.group);
  const spec = (inp.imageUser ?? '').trim();
  const [userPart, groupPart] = spec.includes(':')
    ? [spec.slice(0, spec.indexOf(':')), spec.slice(spec.indexOf(':') + 1)]
    : [spec, undefined];

  let uid = 0;
  let uidFromImage = false;
  let entry: PasswdEntry | undefined;
  if (inp.runAsUser !== undefined) {
    uid = inp.runAsUser;
    entry = users.find((u) => u.uid === uid);
  } else if (userPart) {
    if (isNum(userPart)) {
      uid = Number(userPart);
      entry = users.find((u) => u.uid === uid);
    } else {
      entry = users.find((u) => u.name === userPart);
      if (!entry)
        throw new GenpolicyError(`${inp.where}: image user "${userPart}" is not in the image's /etc/passwd`, {
          field: inp.where,
        });
      uid = entry.uid;
    }
    uidFromImage = uid !== 0;
  } else {
    entry = users.find((u) => u.uid === 0);
  }

  let gid = 0;
  let gidFromImage = false;
  if (inp.runAsGroup !== undefined) gid = inp.runAsGroup;
  else if (groupPart) {
    if (isNum(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g)
        throw new GenpolicyError(`${inp.where}: image group "${groupPart}" is not in the image's /etc/group`, {
          field: inp.where,
        });
      gid = g.gid;
    }
    gidFromImage = gid !== 0;
  } else if (entry) {
    gid = entry.gid;
    gidFromImage = gid !== 0;
  }

  const set = new Set<number>([gid]);
  const imageGroups: number[] = [];
  if (entry) {
    for (const g of groups) {
      if (g.members.includes(entry.name) && !set.has(g.gid)) {
        set.add(g.gid);
        imageGroups.push(g.gid);
      }
    }
  }
  for (const g of inp.supplementalGroups ?? []) set.add(g);
  if (inp.fsGroup !== undefined) set.add(inp.fsGroup);
  const supplied = new Set([...(inp.supplementalGroups ?? []), ...(inp.fsGroup !== undefined ? [inp.fsGroup] : [])]);
  return {
    UID: uid,
    GID: gid,
    AdditionalGids: [...set].sort((a, b) => a - b),
    fromImage: { uid: uidFromImage, gid: gidFromImage, groups: imageGroups.filter((g) => !supplied.has(g)) },
  };
}

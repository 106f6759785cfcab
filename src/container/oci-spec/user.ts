// Which uid, gid and supplementary groups a container's process runs as: the CRI
// security context first, the image's USER otherwise, names looked up in the image's
// /etc/passwd and /etc/group (supplementary groups always applied: CVE-2023-25173).

import { InvalidArgumentError } from '../../errors.js';

export const MAX_ID = 2147483647; // int32 max: larger ids wrapped to root (CVE-2024-40635)

export interface PasswdEntry { name: string; uid: number; gid: number; home: string }
export interface GroupEntry { name: string; gid: number; members: string[] }

export interface ResolvedUser { uid: number; gid: number; additionalGids: number[]; home: string }

export interface UserRequest {
  runAsUser?: number | undefined;
  runAsGroup?: number | undefined;
  runAsUsername?: string | undefined;
  supplementalGroups?: number[] | undefined;
  /** Do not add the groups /etc/group lists the user in. */
  strictGroups?: boolean | undefined;
  /** The image config's User ("name", "uid", "name:group", "uid:gid"). */
  imageUser?: string | undefined;
}

export function parsePasswd(text: string | null): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || line.startsWith('#')) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    out.push({ name: f[0] as string, uid, gid, home: f[5] as string });
  }
  return out;
}

export function parseGroup(text: string | null): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || line.startsWith('#')) continue;
    const gid = Number(f[2]);
    if (!Number.isInteger(gid)) continue;
    out.push({ name: f[0] as string, gid, members: (f[3] as string).split(',').filter(Boolean) });
  }
  return out;
}

/** A numeric id as the CRI or an image gives it, checked against int32 range. */
export function checkId(value: number | string, what: string): number {
  const n = typeof value === 'number' ? value : /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_ID) {
    throw new InvalidArgumentError(`${what} ${String(value)} is not a valid id (0..${MAX_ID})`);
  }
  return n;
}

export function resolveUser(req: UserRequest, passwd: PasswdEntry[], groups: GroupEntry[]): ResolvedUser {
  let entry: PasswdEntry | undefined;
  let uid: number;
  let gid: number | undefined;
  if (req.runAsUsername !== undefined && req.runAsUsername !== '') {
    entry = passwd.find((p) => p.name === req.runAsUsername);
    if (!entry) throw new InvalidArgumentError(`run_as_username "${req.runAsUsername}" is not in the image's /etc/passwd`);
    uid = entry.uid;
  } else if (req.runAsUser !== undefined) {
    uid = checkId(req.runAsUser, 'run_as_user');
    entry = passwd.find((p) => p.uid === uid);
  } else {
    const [userPart = '', groupPart] = (req.imageUser ?? '').split(':', 2);
    if (userPart === '') {
      uid = 0;
      entry = passwd.find((p) => p.uid === 0);
    } else if (/^[0-9]+$/.test(userPart)) {
      uid = checkId(userPart, 'image user');
      entry = passwd.find((p) => p.uid === uid);
    } else {
      entry = passwd.find((p) => p.name === userPart);
      if (!entry) throw new InvalidArgumentError(`image user "${userPart}" is not in the image's /etc/passwd`);
      uid = entry.uid;
    }
    if (groupPart !== undefined && groupPart !== '') {
      if (/^[0-9]+$/.test(groupPart)) gid = checkId(groupPart, 'image group');
      else {
        const g = groups.find((x) => x.name === groupPart);
        if (!g) throw new InvalidArgumentError(`image group "${groupPart}" is not in the image's /etc/group`);
        gid = g.gid;
      }
    }
  }
  checkId(uid, 'uid');
  if (req.runAsGroup !== undefined) gid = checkId(req.runAsGroup, 'run_as_group');
  gid ??= entry?.gid ?? 0;
  checkId(gid, 'gid');
  const additional: number[] = [gid];
  if (entry && !req.strictGroups) {
    for (const g of groups) if (g.members.includes(entry.name)) additional.push(g.gid);
  }
  for (const g of req.supplementalGroups ?? []) additional.push(checkId(g, 'supplemental group'));
  return { uid, gid, additionalGids: [...new Set(additional)], home: entry?.home ?? '/' };
}

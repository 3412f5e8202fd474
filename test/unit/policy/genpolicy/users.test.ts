/** User/group resolution like containerd + kubelet. */
import { describe, expect, it } from 'vitest';
import { resolveUser } from '../../../../policy/genpolicy/index.js';

const passwd =
  'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33::/var/www:/bin/false\napp:x:1234:2345::/home/app:/bin/sh\n';
const group = 'root:x:0:\nwheel:x:10:root,app\nwww-data:x:33:\nappgrp:x:2345:\nvideo:x:44:app\n';
const where = 'test';

describe('resolveUser', () => {
  it('root by default with its /etc/group memberships', () => {
    const u = resolveUser({ passwd, group, where });
    expect([u.UID, u.GID, u.AdditionalGids]).toEqual([0, 0, [0, 10]]);
    expect(u.fromImage).toEqual({ uid: false, gid: false, groups: [10] });
  });
  it('image user by name, by uid, name:group and uid:gid', () => {
    expect(resolveUser({ imageUser: 'app', passwd, group, where })).toMatchObject({
      UID: 1234,
      GID: 2345,
      AdditionalGids: [10, 44, 2345],
    });
    expect(resolveUser({ imageUser: '33', passwd, group, where })).toMatchObject({
      UID: 33,
      GID: 33,
      AdditionalGids: [33],
    });
    expect(resolveUser({ imageUser: 'app:www-data', passwd, group, where })).toMatchObject({ UID: 1234, GID: 33 });
    expect(resolveUser({ imageUser: '5000:6000', passwd, group, where })).toMatchObject({
      UID: 5000,
      GID: 6000,
      AdditionalGids: [6000],
    });
  });
  it('runAsUser/runAsGroup/supplementalGroups/fsGroup win and are not "from the image"', () => {
    const u = resolveUser({
      imageUser: 'app',
      passwd,
      group,
      runAsUser: 33,
      runAsGroup: 7,
      supplementalGroups: [100],
      fsGroup: 200,
      where,
    });
    expect([u.UID, u.GID, u.AdditionalGids]).toEqual([33, 7, [7, 100, 200]]);
    expect(u.fromImage).toEqual({ uid: false, gid: false, groups: [] });
  });
  it('fails for a user name missing from /etc/passwd', () => {
    expect(() => resolveUser({ imageUser: 'ghost', passwd, group, where })).toThrow(
      /image user "ghost" is not in the image's \/etc\/passwd/,
    );
  });
});

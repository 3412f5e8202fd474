/** Assembles `policy_data` for one pod: pause container, init containers (reverse order), containers. */
import type { ConfigObjects } from './config-maps.js';
import {
  pauseContainerPolicy,
  sandboxNamePattern,
  workloadContainerPolicy,
  type PodContext,
} from './container-policy.js';
import { GenpolicyError } from './errors.js';
import type { ImageSource } from './image-source.js';
import type { PodResource } from './k8s-resources.js';
import type { PolicyContainer, PolicyData } from './policy-types.js';
import type { GenpolicySettings } from './settings.js';

export async function buildPolicyData(
  pod: PodResource,
  settings: GenpolicySettings,
  config: ConfigObjects,
  images: ImageSource,
): Promise<PolicyData> {
  const namespace = pod.podMeta.namespace ?? pod.meta.namespace ?? 'default';
  const ctx: PodContext = {
    kind: pod.kind,
    meta: pod.meta,
    podMeta: pod.podMeta,
    spec: pod.spec,
    namespace,
    sandboxName: sandboxNamePattern(pod.kind, pod.meta, pod.podMeta),
    config,
    settings,
    label: pod.label,
  };
  // fetch all images of the pod concurrently; errors are reported per container below
  const refs = new Set([...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => c.image));
  await Promise.allSettled([...refs].map((r) => images.getImage(r)));
  const containers: PolicyContainer[] = [pauseContainerPolicy(ctx)];
  const hints: string[] = [];
  const add = async (list: typeof pod.spec.containers, key: string, init: boolean): Promise<void> => {
    for (const [i, c] of list.entries()) {
      const where = `${pod.label}: ${key}[${i}] "${c.name}"`;
      let image;
      try {
        image = await images.getImage(c.image);
      } catch (e) {
        throw new GenpolicyError(
          `${where}: cannot get image ${c.image}: ${(e as Error).message}`,
          { resource: pod.label, field: key },
          e,
        );
      }
      const r = workloadContainerPolicy(ctx, c, image, where);
      if (r.guestPullHints.length) hints.push(`container "${c.name}": ${r.guestPullHints.join('; ')}`);
      if (init) containers.splice(1, 0, r.policy);
      else containers.push(r.policy);
    }
  };
  await add(pod.spec.initContainers ?? [], 'initContainers', true);
  await add(pod.spec.containers, 'containers', false);
  if (hints.length) {
    throw new GenpolicyError(
      `${pod.label}: with guest pull the user and groups from the image are not reproduced inside the guest; ` +
        `set them in the pod's securityContext: ${hints.join(' | ')}`,
      { resource: pod.label, field: 'securityContext' },
    );
  }
  const nvidia = { ...(settings.devices.vfio.nvidia ?? {}) };
  delete nvidia.resource_prefixes; // generation-only
  return {
    containers,
    common: settings.common,
    sandbox: settings.sandbox,
    request_defaults: settings.request_defaults,
    devices: { vfio: { device_path: settings.devices.vfio.device_path, nvidia } },
    cluster_config: {
      pause_container_image: settings.cluster_config.pause_container_image,
      guest_pull: settings.cluster_config.guest_pull,
      emptydir_type: settings.cluster_config.emptydir_type,
      cgroup_mount_extras_allowed: settings.cluster_config.cgroup_mount_extras_allowed === true,
    },
  };
}

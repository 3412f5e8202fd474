/**
 * The container's OCI spec as the guest agent gets it (Kata's `constrainGRPCSpec` and friends): root in the shared
 * directory, host-only pieces removed (hooks, VFIO nodes in guest-kernel mode, network namespace path, seccomp when
 * disabled for the guest), bind mounts pointed at their copies in the shared directory, `cdi.k8s.io/*` host
 * annotations replaced by the in-guest ones.
 */
import path from 'node:path';
import { withoutCdiAnnotations, type OciSpec } from '../../cdi/index.js';
import { isVfioDevicePath } from '../devices/index.js';

export const GUEST_SHARED_DIR = '/run/ccgpu/shared';

export interface GuestSpecInput {
  containerId: string;
  spec: OciSpec;
  /** Guest path of the container's rootfs. */
  guestRootfs: string;
  /** Bind mounts rewritten: destination → guest source path. */
  guestMountSources: Map<string, string>;
  vfioMode: 'guest-kernel' | 'vfio';
  disableGuestSeccomp: boolean;
  guestAnnotations: Record<string, string>;
}

export function guestSpec(input: GuestSpecInput): OciSpec {
  const spec = structuredClone(input.spec);
  spec.root = {
    path: input.guestRootfs,
    readonly: Boolean((input.spec.root as { readonly?: boolean } | undefined)?.readonly),
  };
  delete spec.hooks;
  spec.annotations = { ...withoutCdiAnnotations(spec.annotations), ...input.guestAnnotations };
  spec.mounts = (spec.mounts ?? [])
    .map((m) => {
      const src = input.guestMountSources.get(m.destination);
      return src ? { ...m, source: src } : m;
    })
    .filter((m) => !(isBind(m) && !input.guestMountSources.has(m.destination)));
  const linux = spec.linux ?? {};
  if (input.vfioMode === 'guest-kernel') {
    // the guest kernel drives the GPU: the agent creates the device nodes from the vfio-pci-gk devices
    linux.devices = (linux.devices ?? []).filter((d) => !isVfioDevicePath(d.path) && d.path !== '/dev/vfio/vfio');
  }
  // every container of the pod shares the VM's network namespace; host namespace paths mean nothing in the guest
  linux.namespaces = (linux.namespaces ?? []).filter((n) => n.type !== 'network').map((n) => ({ type: n.type }));
  if (input.disableGuestSeccomp) delete linux.seccomp;
  spec.linux = linux;
  const proc = spec.process as Record<string, unknown> | undefined;
  if (proc) {
    delete proc.apparmorProfile;
    delete proc.selinuxLabel;
  }
  return spec;
}

function isBind(m: { type?: string; options?: string[] }): boolean {
  return m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
}

/** Bind mounts of a spec that need their host source shared with the guest. */
export function bindMountsToShare(spec: OciSpec): Array<{ destination: string; source: string; readonly: boolean }> {
  return (spec.mounts ?? [])
    .filter((m) => isBind(m) && path.isAbsolute(m.source ?? ''))
    .map((m) => ({ destination: m.destination, source: m.source!, readonly: (m.options ?? []).includes('ro') }));
}

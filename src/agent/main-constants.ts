/** Guest paths the agent's entry point uses (kept apart from main.ts, which starts the agent when imported). */
export const DEFAULT_NATIVE_ADDON = '/usr/lib/ccgpu/ccgpu_native.node';
/** Where the guest image puts src/protocols/proto (the bundle cannot carry them). */
export const GUEST_PROTO_DIR = '/usr/share/ccgpu/proto';
export const CONTAINER_STATE_DIR = '/run/ccgpu/containers';

export * from './host-paths.js';
export * from './pci-function.js';
export * from './vfio-node.js';
export * from './pcie-topology.js';
export * from './guest-cdi-annotations.js';

/**
 * The agent's policy gate at start-up (PolicyGate over AgentPolicyHook): the policy from the initdata disk (the
 * virtio-blk disk with serial `initdata` that the host attaches when the pod has a cc_init_data annotation), else the
 * default policy file, else none (allow-all, logged). A policy that fails to load stops the agent: fail closed.
 */
import { openSync, readSync, closeSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { PolicyGate } from './agent-service.js';
import { hasInitdataMagic, INITDATA_MAGIC } from '../../policy/agent/index.js';
import { AgentPolicyHook } from './policy-hook.js';

/** The block device holding initdata: by virtio-blk serial, else by the magic in its first bytes. */
export function findInitdataDevice(sysRoot = '/sys', devRoot = '/dev'): string | undefined {
  let disks: string[];
  try {
    disks = readdirSync(path.join(sysRoot, 'block'))
      .filter((d) => /^(vd|sd|nvme)/.test(d))
      .sort();
  } catch {
    return undefined;
  }
  for (const d of disks) {
    try {
      if (readFileSync(path.join(sysRoot, 'block', d, 'serial'), 'utf8').trim() === 'initdata')
        return path.join(devRoot, d);
    } catch {
      /* no serial attribute */
    }
  }
  for (const d of disks) {
    const dev = path.join(devRoot, d);
    try {
      const fd = openSync(dev, 'r');
      try {
        const head = Buffer.alloc(INITDATA_MAGIC.length);
        if (readSync(fd, head, 0, head.length, 0) === head.length && hasInitdataMagic(head)) return dev;
      } finally {
        closeSync(fd);
      }
    } catch {
      /* unreadable: not ours */
    }
  }
  return undefined;
}

export async function loadAgentPolicy(log: Logger): Promise<PolicyGate> {
  const initdataDevice = findInitdataDevice();
  if (initdataDevice) log.info({ device: initdataDevice }, 'initdata device found');
  const hook = await AgentPolicyHook.fromSources({ logger: log, initdataDevice });
  log.info({ source: hook.source }, 'agent policy ready');
  return {
    allow: (requestType, request) => hook.allow(requestType, request),
    setPolicy: async (text) => hook.setPolicy(text),
  };
}

/** `/dev/vhost-vsock` exists and opens: the host end of the agent's vsock (optional with agent_transport = virtio-serial). */
import fs from 'node:fs';
import { errorMessage } from '../errors/index.js';
import { result, type CheckContext, type CheckResult } from './types.js';

export function checkVhostVsock(ctx: CheckContext): CheckResult[] {
  const optional = ctx.loaded.config.agent.agentTransport === 'virtio-serial';
  const bad = optional ? 'warn' : 'fail';
  const note = optional ? ' (optional: agent_transport = virtio-serial)' : '';
  const dev = ctx.host.path('/dev/vhost-vsock');
  if (!fs.existsSync(dev)) {
    return [
      result(
        'vhost-vsock',
        bad,
        `/dev/vhost-vsock does not exist${note}`,
        'modprobe vhost_vsock (persist it in /etc/modules-load.d/vhost_vsock.conf)',
      ),
    ];
  }
  try {
    fs.closeSync(fs.openSync(dev, fs.constants.O_RDWR));
  } catch (e) {
    return [
      result(
        'vhost-vsock',
        bad,
        `/dev/vhost-vsock does not open read-write: ${errorMessage(e)}${note}`,
        'run the runtime as root',
      ),
    ];
  }
  return [result('vhost-vsock', 'ok', `/dev/vhost-vsock opens read-write${note}`)];
}

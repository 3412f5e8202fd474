/**
 * The agent's settings from the kernel command line (`/proc/cmdline`), named like the Kata agent's:
 *   agent.transport=virtio-serial|vsock   where the ttrpc server listens (default vsock, port 1024)
 *   agent.server_port=N                   vsock port (default 1024)
 *   agent.channel=NAME                    virtio-serial port name (default agent.channel.0)
 *   agent.launch_process_timeout=N        seconds to wait for a container process to start (default 6)
 *   agent.log=LEVEL                       log level (trace, debug, info, warn, error)
 *   agent.modules=a,b                     extra kernel modules to load with modprobe
 */
import { ConfigError } from '../errors/index.js';

export type AgentTransport = 'vsock' | 'virtio-serial';

export interface AgentCmdline {
  transport: AgentTransport;
  vsockPort: number;
  channelName: string;
  launchProcessTimeoutMs: number;
  logLevel: string;
  modules: string[];
}

export const DEFAULT_VSOCK_PORT = 1024;
export const DEFAULT_CHANNEL_NAME = 'agent.channel.0';
export const DEFAULT_LAUNCH_PROCESS_TIMEOUT_S = 6;

const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

/** Split a command line into words, honouring double quotes as the kernel does. */
export function splitCmdline(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let any = false;
  for (const ch of text) {
    if (ch === '"') {
      quoted = !quoted;
      any = true;
    } else if (!quoted && /\s/.test(ch)) {
      if (any) out.push(cur);
      cur = '';
      any = false;
    } else {
      cur += ch;
      any = true;
    }
  }
  if (any) out.push(cur);
  return out;
}

function positiveInt(value: string, key: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0) {
    throw new ConfigError(`kernel command line: ${key}=${value}: expected a positive integer`, { key });
  }
  return Number(value);
}

/** Parse the agent's parameters; unknown `agent.*` keys are ignored (upstream does the same), bad values throw. */
export function parseAgentCmdline(text: string): AgentCmdline {
  const cfg: AgentCmdline = {
    transport: 'vsock',
    vsockPort: DEFAULT_VSOCK_PORT,
    channelName: DEFAULT_CHANNEL_NAME,
    launchProcessTimeoutMs: DEFAULT_LAUNCH_PROCESS_TIMEOUT_S * 1000,
    logLevel: 'info',
    modules: [],
  };
  for (const word of splitCmdline(text)) {
    const eq = word.indexOf('=');
    const key = eq < 0 ? word : word.slice(0, eq);
    const value = eq < 0 ? '' : word.slice(eq + 1);
    switch (key) {
      case 'agent.transport':
        if (value !== 'vsock' && value !== 'virtio-serial') {
          throw new ConfigError(`kernel command line: agent.transport=${value}: expected "vsock" or "virtio-serial"`, {
            key,
          });
        }
        cfg.transport = value;
        break;
      case 'agent.server_port':
        cfg.vsockPort = positiveInt(value, key);
        break;
      case 'agent.channel':
        if (!value) throw new ConfigError('kernel command line: agent.channel needs a port name', { key });
        cfg.channelName = value;
        break;
      case 'agent.launch_process_timeout':
        cfg.launchProcessTimeoutMs = positiveInt(value, key) * 1000;
        break;
      case 'agent.log':
        if (!LOG_LEVELS.has(value)) {
          throw new ConfigError(
            `kernel command line: agent.log=${value}: expected one of ${[...LOG_LEVELS].join(', ')}`,
            {
              key,
            },
          );
        }
        cfg.logLevel = value;
        break;
      case 'agent.debug_console':
        break;
      case 'agent.modules':
        cfg.modules.push(...value.split(',').filter((m) => m.length > 0));
        break;
      default:
        break;
    }
  }
  return cfg;
}

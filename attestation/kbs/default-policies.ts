/**
 * The KBS's built-in Rego policies (Rego v0 syntax, package `policy`).
 *
 * Attestation policy: turns verified evidence (`input` = the annotated evidence, `data.reference` = reference values)
 * into EAR trust claims. Resource policy: `data.policy.allow` over the token claims (`input`) and the request
 * (`data.plugin`, `data["resource-path"]`, `data.query`).
 */

export const DEFAULT_ATTESTATION_POLICY_ID = 'default_cpu';

export const DEFAULT_ATTESTATION_POLICY = `package policy

# Hardware: only evidence a hardware verifier accepted is affirming; the sample TEE is contraindicated.
default hardware := 97
hardware := 2 {
  input.snp
}
hardware := 2 {
  input.tdx
}

# Executables: the launch measurement (SNP measurement / TDX mr_td) must be a reference value.
default executables := 33
executables := 3 {
  input.snp.measurement == data.reference.measurement[_]
}
executables := 3 {
  input.tdx.mr_td == data.reference.measurement[_]
}

# Configuration: the initdata digest bound in host_data / mr_config_id, when reference digests are configured.
default configuration := 0
configuration := 2 {
  init_data_ok
}
configuration := 36 {
  count(data.reference.init_data) > 0
  not init_data_ok
}
init_data_ok {
  input.init_data == data.reference.init_data[_]
}
`;

/** Default resource policy: only the resource plugin, never the sample TEE, only affirming attestation results. */
export const DEFAULT_RESOURCE_POLICY = `package policy

default allow := false

allow {
  data.plugin == "resource"
  not input.submods.cpu0["ear.veraison.annotated-evidence"].sample
  input.submods.cpu0["ear.status"] == "affirming"
}
`;

/**
 * INSECURE development resource policy: the default rules plus the software-only sample TEE. Only used when the
 * operator explicitly allows the sample TEE.
 */
export const SAMPLE_ALLOWING_RESOURCE_POLICY = `${DEFAULT_RESOURCE_POLICY}
allow {
  data.plugin == "resource"
  input.submods.cpu0["ear.veraison.annotated-evidence"].sample
}
`;

/** Trustee's allow_all.rego equivalent. */
export const ALLOW_ALL_RESOURCE_POLICY = `package policy

default allow := true
`;

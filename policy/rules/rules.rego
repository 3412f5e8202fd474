# ccgpu agent policy rules.
#
# Written for ccgpu; evaluated by the guest agent against `policy_data` (appended by `ccgpu policy generate`,
# same layout as Kata genpolicy's) and the request as `input`. Entry points are the agent request names.
# Security decisions fail closed: anything not explicitly allowed is denied.

package agent_policy

import future.keywords.every
import future.keywords.if
import future.keywords.in

# ---------------------------------------------------------------------------------------------------------
# Defaults: requests without logic are allowed or denied here.

default AllowRequestsFailingPolicy := false

default CreateContainerRequest := false
default CreateSandboxRequest := false
default CopyFileRequest := false
default ExecProcessRequest := false
default UpdateInterfaceRequest := false
default UpdateRoutesRequest := false
default AddARPNeighborsRequest := false
default RemoveContainerRequest := true

default CloseStdinRequest := false
default ReadStreamRequest := false
default WriteStreamRequest := false
default UpdateEphemeralMountsRequest := false
default GetDiagnosticDataRequest := false

default DestroySandboxRequest := true
default GetOOMEventRequest := true
default GuestDetailsRequest := true
default OnlineCPUMemRequest := true
default RemoveStaleVirtiofsShareMountsRequest := true
default SignalProcessRequest := true
default StartContainerRequest := true
default StatsContainerRequest := true
default TtyWinResizeRequest := true
default WaitProcessRequest := true

default AddSwapRequest := false
default AddSwapPathRequest := false
default GetIPTablesRequest := false
default SetIPTablesRequest := false
default GetMetricsRequest := false
default ListInterfacesRequest := false
default ListRoutesRequest := false
default MemAgentCompactConfig := false
default MemAgentMemcgConfig := false
default MemHotplugByProbeRequest := false
default PauseContainerRequest := false
default ResumeContainerRequest := false
default ReseedRandomDevRequest := false
default ResizeVolumeRequest := false
default SetGuestDateTimeRequest := false
default SetPolicyRequest := false
default UpdateContainerRequest := false
default VolumeStatsRequest := false
default StartTracingRequest := false
default StopTracingRequest := false

# Requests gated only by a boolean in policy_data.request_defaults.
CloseStdinRequest if {
	policy_data.request_defaults.CloseStdinRequest == true
}

ReadStreamRequest if {
	policy_data.request_defaults.ReadStreamRequest == true
}

WriteStreamRequest if {
	policy_data.request_defaults.WriteStreamRequest == true
}

UpdateEphemeralMountsRequest if {
	policy_data.request_defaults.UpdateEphemeralMountsRequest == true
}

GetDiagnosticDataRequest if {
	policy_data.request_defaults.GetDiagnosticDataRequest == true
}

# ---------------------------------------------------------------------------------------------------------
# Generic helpers.

has_key(obj, key) if {
	_ = obj[key]
}

get_or(obj, key, _) := v if {
	has_key(obj, key)
	v := obj[key]
}

get_or(obj, key, d) := d if {
	not has_key(obj, key)
}

as_set(arr) := {x | some x in arr}

# Policy state (seeded by the agent as data.pstate = {}).
pstate := p if {
	p := data.pstate
}

pstate := {} if {
	not data.pstate
}

# One JSON-Patch op recording key=value, or no op when it is already recorded with the same value;
# undefined (deny) when it is recorded with another value.
state_ops(key, value) := [] if {
	has_key(pstate, key)
	pstate[key] == value
}

state_ops(key, value) := [{"op": "add", "path": concat("", ["/pstate/", key]), "value": value}] if {
	not has_key(pstate, key)
}

# ---------------------------------------------------------------------------------------------------------
# Placeholder substitution. `subs` carries the per-request values: bundle_id, sandbox_id, sandbox_name,
# namespace.

expand_common(x) := r if {
	c := policy_data.common
	r1 := replace(x, "$(root_path)", get_or(c, "root_path", "$(cpath)/$(bundle-id)/rootfs"))
	r2 := replace(r1, "$(sfprefix)", c.sfprefix)
	r3 := replace(r2, "$(cpath)", c.cpath)
	r4 := replace(r3, "$(spath)", get_or(c, "spath", "/run/kata-containers/sandbox/storage"))
	r5 := replace(r4, "$(ipv4_a)", get_or(c, "ipv4_a", "[0-9.]+"))
	r6 := replace(r5, "$(ip_p)", get_or(c, "ip_p", "[0-9]{1,5}"))
	r7 := replace(r6, "$(svc_name_downward_env)", get_or(c, "svc_name_downward_env", "[A-Z0-9_]+"))
	r8 := replace(r7, "$(svc_name)", get_or(c, "svc_name", "[A-Z_\\.\\-]+"))
	r := replace(r8, "$(dns_label)", get_or(c, "dns_label", "[a-zA-Z0-9_\\.\\-]+"))
}

subst(subs, x) := r if {
	r1 := expand_common(x)
	r2 := replace(r1, "$(bundle-id)", subs.bundle_id)
	r3 := replace(r2, "$(sandbox-id)", subs.sandbox_id)
	r4 := replace(r3, "$(sandbox-name)", subs.sandbox_name)
	r := replace(r4, "$(sandbox-namespace)", subs.namespace)
}

# A policy value matches an input value: equal after substitution, or an anchored regex that matches.
value_allowed(subs, p_value, i_value) if {
	expanded_value_allowed(subst(subs, p_value), i_value)
}

# The same for an already substituted policy value.
expanded_value_allowed(p_value, i_value) if {
	p_value == i_value
}

expanded_value_allowed(p_value, i_value) if {
	p_value != i_value
	startswith(p_value, "^")
	regex.match(p_value, i_value)
}

# ---------------------------------------------------------------------------------------------------------
# CreateContainerRequest

CreateContainerRequest := {"ops": ops, "allowed": true} if {
	# container IDs are 64 lower-case hex/alnum characters; they become keys of the policy state
	regex.match("^[a-z0-9]{64}$", input.container_id)
	is_null(input.string_user)
	i_oci := input.OCI
	is_null(get_or(i_oci, "Hooks", null))
	subs := request_subs(i_oci)
	some p_index, p_container in policy_data.containers
	allow_container(p_container, i_oci, subs)
	ops := array.concat(
		array.concat(state_ops("sandbox_name", subs.sandbox_name), state_ops("namespace", subs.namespace)),
		state_ops(input.container_id, p_index),
	)
}

request_subs(i_oci) := subs if {
	root_pattern := replace(expand_common("$(root_path)"), "$(bundle-id)", "([a-z0-9]{64})")
	bundle_id := regex.find_all_string_submatch_n(concat("", ["^", root_pattern, "$"]), i_oci.Root.Path, 1)[0][1]
	sandbox_id := i_oci.Annotations["io.kubernetes.cri.sandbox-id"]
	regex.match("^[a-z0-9]{64}$", sandbox_id)
	subs := {
		"bundle_id": bundle_id,
		"sandbox_id": sandbox_id,
		"sandbox_name": i_oci.Annotations["io.kubernetes.cri.sandbox-name"],
		"namespace": i_oci.Annotations["io.kubernetes.cri.sandbox-namespace"],
	}
}

allow_container(p_container, i_oci, subs) if {
	p_oci := p_container.OCI
	p_oci.Version == i_oci.Version
	allow_annotations(p_container, i_oci.Annotations, subs)
	allow_root(p_oci.Root, i_oci.Root, subs)
	allow_process(p_oci.Process, i_oci.Process, subs)
	allow_linux(p_oci.Linux, i_oci.Linux)
	allow_mounts(get_or(p_oci, "Mounts", []), i_oci.Mounts, subs)
	allow_storages(p_container.storages, input.storages, subs)
	allow_devices(get_or(p_container, "devices", []), input.devices, i_oci.Annotations)
	p_container.sandbox_pidns == input.sandbox_pidns
	count(get_or(input, "shared_mounts", [])) == 0
}

# Annotations: the identifying ones must be present; every input annotation must be allowed by the
# container's annotations (exact or regex) or by its runtime annotation patterns.
required_annotations := [
	"io.kubernetes.cri.container-type",
	"io.kubernetes.cri.sandbox-name",
	"io.kubernetes.cri.sandbox-namespace",
	"io.kubernetes.cri.container-name",
	"io.kubernetes.cri.image-name",
]

allow_annotations(p_container, i_annotations, subs) if {
	p_annotations := get_or(p_container.OCI, "Annotations", {})
	every key in required_annotations {
		allow_required_annotation(p_annotations, i_annotations, key)
	}
	expanded := {key: subst(subs, value) | some key, value in p_annotations}
	every key, value in i_annotations {
		allow_annotation(p_container, expanded, key, value)
	}
}

allow_required_annotation(p_annotations, _, key) if {
	not has_key(p_annotations, key)
}

allow_required_annotation(p_annotations, i_annotations, key) if {
	has_key(p_annotations, key)
	has_key(i_annotations, key)
}

allow_annotation(_, expanded, key, value) if {
	expanded_value_allowed(expanded[key], value)
}

allow_annotation(p_container, expanded, key, value) if {
	not has_key(expanded, key)
	some key_regex, value_regex in get_or(p_container, "runtime_anno_patterns", {})
	regex.match(key_regex, key)
	regex.match(value_regex, value)
}

allow_root(p_root, i_root, subs) if {
	p_root.Readonly == i_root.Readonly
	subst(subs, p_root.Path) == i_root.Path
}

# Process: exact user, args, cwd, terminal, no_new_privileges and capabilities; every env var allowed and
# every (fixed) policy env var present.
allow_process(p_process, i_process, subs) if {
	p_process.Terminal == i_process.Terminal
	allow_user(p_process.User, i_process.User)
	allow_args(get_or(p_process, "Args", []), i_process.Args, subs)
	allow_env(get_or(p_process, "Env", []), i_process.Env, subs)
	get_or(p_process, "Cwd", "/") == i_process.Cwd
	p_process.NoNewPrivileges == i_process.NoNewPrivileges
	allow_capabilities(p_process.Capabilities, i_process.Capabilities)
}

allow_user(p_user, i_user) if {
	p_user.UID == i_user.UID
	p_user.GID == i_user.GID
	as_set(p_user.AdditionalGids) == as_set(i_user.AdditionalGids)
	i_user.Username == get_or(p_user, "Username", "")
}

allow_args(p_args, i_args, subs) if {
	count(p_args) == count(i_args)
	every i, p_arg in p_args {
		allow_arg(p_arg, i_args[i], subs)
	}
}

allow_arg(p_arg, i_arg, _) if {
	p_arg == i_arg
}

allow_arg(p_arg, i_arg, subs) if {
	contains(p_arg, "$(")
	regex.match(runtime_value_pattern(p_arg, subs), i_arg)
}

# Values known only at run time (downward API) become patterns.
runtime_value_pattern(p_value, subs) := r if {
	c := policy_data.common
	ip := get_or(c, "ipv4_a", "[0-9.]+")
	label := get_or(c, "dns_label", "[a-zA-Z0-9_\\.\\-]+")
	r1 := replace(p_value, "$(host-name)", label)
	r2 := replace(r1, "$(node-name)", label)
	r3 := replace(r2, "$(pod-ip)", ip)
	r4 := replace(r3, "$(host-ip)", ip)
	r5 := replace(r4, "$(pod-uid)", "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
	r6 := replace(r5, "$(resource-field)", "[0-9a-zA-Z.]+")
	r7 := replace(r6, "$(sandbox-name)", subs.sandbox_name)
	r8 := replace(r7, "$(sandbox-namespace)", subs.namespace)
	r := concat("", ["^", r8, "$"])
}

allow_env(p_env, i_env, subs) if {
	patterns := env_patterns(p_env, subs)
	every i_var in i_env {
		allow_env_var(p_env, patterns, i_var)
	}
	every p_var in p_env {
		allow_policy_env_present(p_var, i_env)
	}
}

# Patterns for env vars not listed literally: the policy's run-time values, then request_defaults' regexes.
env_patterns(p_env, subs) := array.concat(
	[runtime_value_pattern(p_var, subs) | some p_var in p_env; contains(p_var, "$(")],
	allow_env_regexes,
)

allow_env_regexes := [expand_common(r) | some r in policy_data.request_defaults.CreateContainerRequest.allow_env_regex]

allow_policy_env_present(p_var, _) if {
	contains(p_var, "$(")
}

allow_policy_env_present(p_var, i_env) if {
	p_var in i_env
}

allow_env_var(p_env, _, i_var) if {
	i_var in p_env
}

allow_env_var(p_env, patterns, i_var) if {
	not i_var in p_env
	some pattern in patterns
	regex.match(pattern, i_var)
}

cap_fields := ["Ambient", "Bounding", "Effective", "Inheritable", "Permitted"]

allow_capabilities(p_caps, i_caps) if {
	every field in cap_fields {
		as_set(expand_caps(get_or(p_caps, field, []))) == as_set(get_or(i_caps, field, []))
	}
}

expand_caps(caps) := policy_data.common.default_caps if {
	caps == ["$(default_caps)"]
}

expand_caps(caps) := policy_data.common.privileged_caps if {
	caps == ["$(privileged_caps)"]
}

expand_caps(caps) := caps if {
	caps != ["$(default_caps)"]
	caps != ["$(privileged_caps)"]
}

# Linux: namespaces (the agent manages the network one), masked/readonly paths, sysctls, devices.
allow_linux(p_linux, i_linux) if {
	i_namespaces := {ns | some ns in i_linux.Namespaces; ns.Type != "network"}
	as_set(p_linux.Namespaces) == i_namespaces
	as_set(get_or(p_linux, "MaskedPaths", [])) == as_set(i_linux.MaskedPaths)
	as_set(get_or(p_linux, "ReadonlyPaths", [])) == as_set(i_linux.ReadonlyPaths)
	p_sysctl := get_or(p_linux, "Sysctl", {})
	every key, value in get_or(i_linux, "Sysctl", {}) {
		p_sysctl[key] == value
	}
	p_devices := get_or(p_linux, "Devices", [])
	every i_device in get_or(i_linux, "Devices", []) {
		some p_device in p_devices
		p_device.Type == i_device.Type
		p_device.Path == i_device.Path
	}
}

# Mounts: every input mount must match a policy mount (destination, type, options, source).
allow_mounts(p_mounts, i_mounts, subs) if {
	expanded := [
	{"destination": m.destination, "type_": m.type_, "options": m.options, "source": subst(subs, m.source)} |
		some m in p_mounts
	]
	every i_mount in i_mounts {
		some p_mount in expanded
		allow_mount(p_mount, i_mount)
	}
}

allow_mount(p_mount, i_mount) if {
	p_mount.destination == i_mount.destination
	p_mount.type_ == i_mount.type_
	p_mount.options == i_mount.options
	expanded_value_allowed(p_mount.source, i_mount.source)
}

# Storages: every input storage must match a policy storage, and the guest-pull storage of the container's
# image (when the policy has one) must be present: the rootfs then comes from the image pulled in the guest.
allow_storages(p_storages, i_storages, subs) if {
	every i_storage in i_storages {
		some p_storage in p_storages
		allow_storage(p_storage, i_storage, subs)
	}
	every p_storage in p_storages {
		required_storage_present(p_storage, i_storages, subs)
	}
}

required_storage_present(p_storage, _, _) if {
	p_storage.driver != "image_guest_pull"
}

required_storage_present(p_storage, i_storages, subs) if {
	p_storage.driver == "image_guest_pull"
	some i_storage in i_storages
	allow_storage(p_storage, i_storage, subs)
}

allow_storage(p_storage, i_storage, subs) if {
	p_storage.driver == i_storage.driver
	p_storage.fstype == i_storage.fstype
	p_storage.options == i_storage.options
	allow_storage_driver_options(p_storage, i_storage)
	value_allowed(subs, p_storage.source, i_storage.source)
	value_allowed(subs, p_storage.mount_point, i_storage.mount_point)
	p_storage.fs_group == i_storage.fs_group
}

allow_storage_driver_options(p_storage, i_storage) if {
	p_storage.driver != "image_guest_pull"
	p_storage.driver_options == i_storage.driver_options
}

# Guest pull: the driver options carry the image metadata for the guest; each must be an image_guest_pull entry.
allow_storage_driver_options(p_storage, i_storage) if {
	p_storage.driver == "image_guest_pull"
	every o in i_storage.driver_options {
		startswith(o, "image_guest_pull=")
	}
}

# Devices (VFIO GPUs, NVSwitches): no more than the policy expects, each of an expected type under the
# expected path; every guest CDI annotation `cdi.k8s.io/vfio<N>` must belong to a device node `.../vfio<N>`
# or `.../<N>` of this request (the agent injects GPU nodes and libraries from these annotations).
allow_devices(p_devices, i_devices, i_annotations) if {
	count(i_devices) <= count(p_devices)
	every i_device in i_devices {
		some p_device in p_devices
		p_device.type_ == i_device.type_
		startswith(i_device.container_path, p_device.container_path)
	}
	device_numbers := {device_number(d) | some d in i_devices}
	every key, _ in i_annotations {
		allow_cdi_annotation_device(key, device_numbers)
	}
}

device_number(i_device) := trim_prefix(parts[count(parts) - 1], "vfio") if {
	parts := split(i_device.container_path, "/")
}

allow_cdi_annotation_device(key, _) if {
	not startswith(key, "cdi.k8s.io/")
}

allow_cdi_annotation_device(key, device_numbers) if {
	startswith(key, "cdi.k8s.io/vfio")
	trim_prefix(key, "cdi.k8s.io/vfio") in device_numbers
}

# ---------------------------------------------------------------------------------------------------------
# CreateSandboxRequest

CreateSandboxRequest if {
	input.guest_hook_path == ""
	count(input.kernel_modules) == 0
	input.sandbox_pidns == false
	every i_storage in input.storages {
		some p_storage in policy_data.sandbox.storages
		allow_sandbox_storage(p_storage, i_storage)
	}
}

allow_sandbox_storage(p_storage, i_storage) if {
	p_storage.driver == i_storage.driver
	p_storage.driver_options == i_storage.driver_options
	p_storage.source == i_storage.source
	p_storage.fstype == i_storage.fstype
	p_storage.options == i_storage.options
	p_storage.mount_point == i_storage.mount_point
}

# ---------------------------------------------------------------------------------------------------------
# CopyFileRequest: only into the shared directory, no traversal, only regular files, directories and
# well-formed relative symlinks that are not at the top level.

CopyFileRequest if {
	startswith(input.path, "/")
	not regex.match("(^|/)\\.\\.?(/|$)", input.path)
	some p_regex in policy_data.request_defaults.CopyFileRequest
	pattern := replace(expand_common(p_regex), "$(bundle-id)", "[a-z0-9]{64}")
	regex.match(pattern, input.path)
	allow_copy_file_type(copy_file_type)
}

copy_file_type := t if {
	has_key(input, "file_type")
	t := input.file_type
}

copy_file_type := t if {
	not has_key(input, "file_type")
	t := file_type_from_mode(bits.and(input.file_mode, 61440))
}

file_type_from_mode(mode) := "Regular" if {
	mode == 32768
}

file_type_from_mode(mode) := "Directory" if {
	mode == 16384
}

file_type_from_mode(mode) := "Symlink" if {
	mode == 40960
}

allow_copy_file_type(t) if {
	t == "Regular"
}

allow_copy_file_type(t) if {
	t == "Directory"
}

allow_copy_file_type(t) if {
	t == "Symlink"
	target := copy_symlink_target
	target != ""
	not startswith(target, "/")
	not endswith(target, "/")
	not contains(target, "//")
	not regex.match("(^|/)\\.\\.?(/|$)", target)
	# not at the top level of the shared directory
	rel := trim_prefix(input.path, concat("", [policy_data.common.cpath, "/"]))
	contains(rel, "/")
}

copy_symlink_target := t if {
	has_key(input, "symlink_target")
	t := input.symlink_target
}

copy_symlink_target := input.symlink_src if {
	not has_key(input, "symlink_target")
	has_key(input, "symlink_src")
}

# ---------------------------------------------------------------------------------------------------------
# ExecProcessRequest: a command allowed by request_defaults or one of the container's probe/lifecycle
# commands, in a process that matches the container's (user, cwd, env, no extra privileges).

ExecProcessRequest if {
	allow_exec_process(input.process)
	some command in policy_data.request_defaults.ExecProcessRequest.allowed_commands
	command == input.process.Args
}

ExecProcessRequest if {
	allow_exec_process(input.process)
	p_container := exec_container
	some command in p_container.exec_commands
	command == input.process.Args
}

ExecProcessRequest if {
	allow_exec_process(input.process)
	some p_regex in policy_data.request_defaults.ExecProcessRequest.regex
	regex.match(p_regex, concat(" ", input.process.Args))
}

exec_container := policy_data.containers[pstate[input.container_id]]

allow_exec_process(i_process) if {
	is_null(input.string_user)
	i_process.Terminal == false
	is_null(i_process.Capabilities)
	i_process.SelinuxLabel == ""
	i_process.ApparmorProfile == ""
	p_process := exec_container.OCI.Process
	allow_user(p_process.User, i_process.User)
	get_or(p_process, "Cwd", "/") == i_process.Cwd
	p_process.NoNewPrivileges == i_process.NoNewPrivileges
	subs := {"sandbox_name": pstate.sandbox_name, "namespace": pstate.namespace, "bundle_id": "", "sandbox_id": ""}
	p_env := get_or(p_process, "Env", [])
	patterns := env_patterns(p_env, subs)
	every i_var in i_process.Env {
		allow_env_var(p_env, patterns, i_var)
	}
}

# ---------------------------------------------------------------------------------------------------------
# RemoveContainerRequest: forget the container in the policy state.

RemoveContainerRequest := {"ops": [{"op": "remove", "path": concat("", ["/pstate/", input.container_id])}], "allowed": true} if {
	has_key(pstate, input.container_id)
}

# ---------------------------------------------------------------------------------------------------------
# Network configuration requests.

UpdateInterfaceRequest if {
	rd := policy_data.request_defaults.UpdateInterfaceRequest
	i_interface := input.interface
	bits.and(i_interface.raw_flags, bits.negate(rd.allow_raw_flags)) == 0
	not i_interface.name in rd.forbidden_names
	every hw in rd.forbidden_hw_addrs {
		lower(i_interface.hwAddr) != lower(hw)
	}
}

UpdateRoutesRequest if {
	rd := policy_data.request_defaults.UpdateRoutesRequest
	every route in input.routes.Routes {
		not route.device in rd.forbidden_device_names
		every p_regex in rd.forbidden_source_regex {
			not regex.match(p_regex, route.source)
		}
	}
}

AddARPNeighborsRequest if {
	rd := policy_data.request_defaults.AddARPNeighborsRequest
	every neighbor in input.neighbors.ARPNeighbors {
		not neighbor.device in rd.forbidden_device_names
		every p_regex in rd.forbidden_cidrs_regex {
			not regex.match(p_regex, neighbor.toIPAddress.address)
		}
		neighbor.toIPAddress.mask == ""
		neighbor.state in rd.allowed_states
		bits.and(neighbor.flags, bits.negate(136)) == 0
	}
}

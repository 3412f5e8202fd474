// NVML (libnvidia-ml.so.1) loaded at run time with dlopen: GPU confidential-computing attestation report and
// certificate chain. An absent library is a clear error, never a link failure.
#pragma once
#include <napi.h>

namespace ccgpu {
void InitNvml(Napi::Env env, Napi::Object exports);
}

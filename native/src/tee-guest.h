// Confidential-guest report ioctls: /dev/sev-guest SNP_GET_REPORT and /dev/tdx_guest TDX_CMD_GET_REPORT0.
#pragma once
#include <napi.h>

namespace ccgpu {
void InitTeeGuest(Napi::Env env, Napi::Object exports);
}

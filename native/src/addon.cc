// ccgpu_native: AF_VSOCK sockets and generic descriptor helpers (ioctl, poll) for Node.
// Other modules (/dev/sev-guest, /dev/tdx_guest, NVML) register here with their own Init* function.
#include <napi.h>

#include "fd.h"
#include "nvml.h"
#include "process.h"
#include "tee-guest.h"
#include "vsock.h"

namespace {
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  ccgpu::InitFd(env, exports);
  ccgpu::InitVsock(env, exports);
  ccgpu::InitProcess(env, exports);
  ccgpu::InitTeeGuest(env, exports);
  ccgpu::InitNvml(env, exports);
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  return exports;
}
}  // namespace

NODE_API_MODULE(ccgpu_native, Init)

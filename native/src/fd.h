#pragma once
#include <napi.h>

namespace ccgpu {
void InitFd(Napi::Env env, Napi::Object exports);
}

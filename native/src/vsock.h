#pragma once
#include <napi.h>

namespace ccgpu {
void InitVsock(Napi::Env env, Napi::Object exports);
}

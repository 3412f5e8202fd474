#pragma once
#include <napi.h>

namespace ccgpu {
void InitProcess(Napi::Env env, Napi::Object exports);
}

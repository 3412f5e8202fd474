// Errors thrown to JavaScript: Error objects carrying errno, code (e.g. "EAFNOSUPPORT") and syscall.
#pragma once
#include <napi.h>
#include <string>

namespace ccgpu {

// Build an Error like Node's system errors: message "<syscall> <CODE>: <strerror> (<context>)".
Napi::Error SystemError(Napi::Env env, int err, const char* syscall, const std::string& context);

// Symbolic name of an errno value ("ECONNREFUSED"), or "E<number>".
const char* ErrnoName(int err);

// Argument helpers: throw TypeError naming the function and argument.
uint32_t ArgUint32(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name);
int ArgFd(const Napi::CallbackInfo& info, size_t i, const char* fn);

}  // namespace ccgpu

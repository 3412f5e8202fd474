#include "errors.h"

#include <cerrno>
#include <cmath>
#include <cstring>

namespace ccgpu {

const char* ErrnoName(int err) {
  switch (err) {
#define E(x) \
  case x:    \
    return #x;
    E(EPERM) E(ENOENT) E(EINTR) E(EIO) E(ENXIO) E(EBADF) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY)
    E(EEXIST) E(ENODEV) E(ENOTDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOTTY) E(ENOSPC) E(EPIPE) E(ENOSYS)
    E(ENOTSOCK) E(EDESTADDRREQ) E(EMSGSIZE) E(EPROTOTYPE) E(ENOPROTOOPT) E(EPROTONOSUPPORT)
    E(ESOCKTNOSUPPORT) E(EOPNOTSUPP) E(EPFNOSUPPORT) E(EAFNOSUPPORT) E(EADDRINUSE) E(EADDRNOTAVAIL)
    E(ENETDOWN) E(ENETUNREACH) E(ECONNABORTED) E(ECONNRESET) E(ENOBUFS) E(EISCONN) E(ENOTCONN)
    E(ETIMEDOUT) E(ECONNREFUSED) E(EHOSTDOWN) E(EHOSTUNREACH) E(EALREADY) E(EINPROGRESS)
#undef E
    default:
      return nullptr;
  }
}

Napi::Error SystemError(Napi::Env env, int err, const char* syscall, const std::string& context) {
  const char* name = ErrnoName(err);
  std::string code = name ? name : ("E" + std::to_string(err));
  std::string msg = std::string(syscall) + " " + code + ": " + std::strerror(err);
  if (!context.empty()) msg += " (" + context + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("code", Napi::String::New(env, code));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

uint32_t ArgUint32(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || !info[i].IsNumber()) {
    throw Napi::TypeError::New(env, std::string(fn) + ": argument '" + name + "' must be a number");
  }
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d < 0 || d > 4294967295.0 || std::floor(d) != d) {
    throw Napi::TypeError::New(env, std::string(fn) + ": argument '" + name + "' must be an integer in [0, 2^32-1]");
  }
  return static_cast<uint32_t>(d);
}

int ArgFd(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  uint32_t fd = ArgUint32(info, i, fn, "fd");
  if (fd > 0x7fffffff) throw Napi::TypeError::New(info.Env(), std::string(fn) + ": argument 'fd' is not a valid descriptor");
  return static_cast<int>(fd);
}

}  // namespace ccgpu

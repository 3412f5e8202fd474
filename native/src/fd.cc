// Generic descriptor operations: close, ioctl with an in/out buffer, and poll() on a worker thread.
#include "fd.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "errors.h"

namespace ccgpu {
namespace {

Napi::Value Close(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "close");
  if (close(fd) < 0 && errno != EINTR) throw SystemError(info.Env(), errno, "close", "fd " + std::to_string(fd));
  return info.Env().Undefined();
}

// ioctl(fd, request, buffer?): the buffer (Buffer/Uint8Array) is passed as the argument pointer and may be
// written by the kernel; without a buffer the argument is 0. Returns the ioctl result (>= 0).
Napi::Value Ioctl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0, "ioctl");
  uint32_t request = ArgUint32(info, 1, "ioctl", "request");
  void* arg = nullptr;
  if (info.Length() > 2 && !info[2].IsUndefined() && !info[2].IsNull()) {
    if (!info[2].IsTypedArray()) throw Napi::TypeError::New(env, "ioctl: argument 'buffer' must be a Buffer or Uint8Array");
    Napi::TypedArray ta = info[2].As<Napi::TypedArray>();
    if (ta.TypedArrayType() != napi_uint8_array) throw Napi::TypeError::New(env, "ioctl: argument 'buffer' must be a Buffer or Uint8Array");
    Napi::Uint8Array u8 = ta.As<Napi::Uint8Array>();
    arg = u8.Data();
  }
  int rc;
  do {
    rc = ioctl(fd, static_cast<unsigned long>(request), arg);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    char hex[16];
    snprintf(hex, sizeof(hex), "0x%08x", request);
    throw SystemError(env, errno, "ioctl", "fd " + std::to_string(fd) + ", request " + hex);
  }
  return Napi::Number::New(env, rc);
}

class PollWorker : public Napi::AsyncWorker {
 public:
  PollWorker(Napi::Env env, int fd, short events, int timeout)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), fd_(fd), events_(events), timeout_(timeout) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    pollfd p{fd_, events_, 0};
    int rc;
    do {
      rc = poll(&p, 1, timeout_);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
      err_ = errno;
      return;
    }
    revents_ = rc == 0 ? 0 : p.revents;
  }
  void OnOK() override {
    if (err_ != 0) {
      deferred_.Reject(SystemError(Env(), err_, "poll", "fd " + std::to_string(fd_)).Value());
    } else {
      deferred_.Resolve(Napi::Number::New(Env(), revents_));
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  int fd_;
  short events_;
  int timeout_;
  int err_ = 0;
  short revents_ = 0;
};

// poll(fd, events, timeoutMs) -> Promise<revents> (0 on timeout); runs on the libuv thread pool.
Napi::Value Poll(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "poll");
  uint32_t events = ArgUint32(info, 1, "poll", "events");
  uint32_t timeout = ArgUint32(info, 2, "poll", "timeoutMs");
  if (timeout > 600000) throw Napi::TypeError::New(info.Env(), "poll: argument 'timeoutMs' must be at most 600000");
  auto* w = new PollWorker(info.Env(), fd, static_cast<short>(events & 0xffff), static_cast<int>(timeout));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace

void InitFd(Napi::Env env, Napi::Object exports) {
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("ioctl", Napi::Function::New(env, Ioctl, "ioctl"));
  exports.Set("poll", Napi::Function::New(env, Poll, "poll"));
  Napi::Object c = Napi::Object::New(env);
  c.Set("POLLIN", Napi::Number::New(env, POLLIN));
  c.Set("POLLOUT", Napi::Number::New(env, POLLOUT));
  c.Set("POLLERR", Napi::Number::New(env, POLLERR));
  c.Set("POLLHUP", Napi::Number::New(env, POLLHUP));
  c.Set("POLLNVAL", Napi::Number::New(env, POLLNVAL));
  exports.Set("pollConstants", c);
}

}  // namespace ccgpu

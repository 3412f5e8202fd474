// Process operations the guest agent needs as PID 1: waitpid on one pid (to reap orphans re-parented to it without
// stealing the exit status of children Node itself spawned) and the calling process's pid-1 status.
#include "process.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <cerrno>
#include <string>

#include "errors.h"

namespace ccgpu {
namespace {

// waitpid(pid, nohang=true) -> null when the child has not exited (or is not ours), else
// { pid, exited, code, signaled, signal }.
Napi::Value WaitPid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "waitpid: argument 'pid' must be a number");
  int64_t pid = info[0].As<Napi::Number>().Int64Value();
  if (pid <= 0 || pid > 0x7fffffff) throw Napi::TypeError::New(env, "waitpid: argument 'pid' must be a positive pid");
  bool nohang = info.Length() < 2 || info[1].IsUndefined() || info[1].ToBoolean().Value();
  int status = 0;
  pid_t rc;
  do {
    rc = waitpid(static_cast<pid_t>(pid), &status, nohang ? WNOHANG : 0);
  } while (rc < 0 && errno == EINTR);
  if (rc == 0) return env.Null();
  if (rc < 0) {
    if (errno == ECHILD) return env.Null();
    throw SystemError(env, errno, "waitpid", "pid " + std::to_string(pid));
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, rc));
  out.Set("exited", Napi::Boolean::New(env, WIFEXITED(status)));
  out.Set("code", Napi::Number::New(env, WIFEXITED(status) ? WEXITSTATUS(status) : -1));
  out.Set("signaled", Napi::Boolean::New(env, WIFSIGNALED(status)));
  out.Set("signal", Napi::Number::New(env, WIFSIGNALED(status) ? WTERMSIG(status) : 0));
  return out;
}

}  // namespace

void InitProcess(Napi::Env env, Napi::Object exports) {
  exports.Set("waitpid", Napi::Function::New(env, WaitPid, "waitpid"));
}

}  // namespace ccgpu

// NVML through dlopen (no link-time dependency on the NVIDIA driver). Only what GPU attestation needs:
//
//   nvmlOpen(library = "libnvidia-ml.so.1")  dlopen + nvmlInit_v2 (idempotent for the same library). Errors carry code:
//                                             ENVMLLOAD (library absent), ENVMLSYM (symbol missing), ENVML (NVML error)
//   nvmlDeviceCount() -> number
//   nvmlDeviceUuid(index) -> string            nvmlDeviceGetUUID
//   nvmlDeviceArchitecture(index) -> number    nvmlDeviceGetArchitecture (9 = Hopper, 10 = Blackwell)
//   nvmlAttestationReport(index, nonce[32]) -> Promise<Buffer>   nvmlDeviceGetConfComputeGpuAttestationReport
//   nvmlCertificateChain(index) -> Promise<Buffer>   attestation chain (PEM) of nvmlDeviceGetConfComputeGpuCertificate
//                                              (both on a worker thread)
//   nvmlClose()                                nvmlShutdown + dlclose (refused while a call is running)
//
// Structure layouts follow nvml.h (CUDA 12.x); they are declared here so building needs no NVIDIA headers.
#include "nvml.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace ccgpu {
namespace {

using nvmlReturn_t = int;
using nvmlDevice_t = void*;
constexpr nvmlReturn_t kNvmlSuccess = 0;

constexpr size_t kCertChainSize = 0x1000;
constexpr size_t kAttestationCertChainSize = 0x1400;
constexpr size_t kNonceSize = 0x20;
constexpr size_t kAttestationReportSize = 0x2000;
constexpr size_t kCecAttestationReportSize = 0x1000;
constexpr unsigned kUuidBufferSize = 96;

struct GpuCertificate {
  unsigned int certChainSize;
  unsigned int attestationCertChainSize;
  unsigned char certChain[kCertChainSize];
  unsigned char attestationCertChain[kAttestationCertChainSize];
};

struct GpuAttestationReport {
  unsigned int isCecAttestationReportPresent;
  unsigned int attestationReportSize;
  unsigned int cecAttestationReportSize;
  unsigned char nonce[kNonceSize];
  unsigned char attestationReport[kAttestationReportSize];
  unsigned char cecAttestationReport[kCecAttestationReportSize];
};

struct Nvml {
  void* lib = nullptr;
  std::string path;
  nvmlReturn_t (*init)() = nullptr;
  nvmlReturn_t (*shutdown)() = nullptr;
  const char* (*errorString)(nvmlReturn_t) = nullptr;
  nvmlReturn_t (*getCount)(unsigned int*) = nullptr;
  nvmlReturn_t (*getHandle)(unsigned int, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*getUuid)(nvmlDevice_t, char*, unsigned int) = nullptr;
  nvmlReturn_t (*getArch)(nvmlDevice_t, unsigned int*) = nullptr;
  nvmlReturn_t (*getReport)(nvmlDevice_t, GpuAttestationReport*) = nullptr;
  nvmlReturn_t (*getCert)(nvmlDevice_t, GpuCertificate*) = nullptr;
};

Nvml g_nvml;

Napi::Error NvmlError(Napi::Env env, const char* code, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  return e;
}

void Check(Napi::Env env, nvmlReturn_t rc, const char* call) {
  if (rc == kNvmlSuccess) return;
  const char* text = g_nvml.errorString ? g_nvml.errorString(rc) : nullptr;
  Napi::Error e = NvmlError(env, "ENVML", std::string(call) + " failed: " + (text ? text : "NVML error") + " (" + std::to_string(rc) + ")");
  e.Set("nvmlReturn", Napi::Number::New(env, rc));
  throw e;
}

template <typename F>
void Sym(Napi::Env env, void* lib, const char* name, const std::string& path, F* out) {
  dlerror();
  void* p = dlsym(lib, name);
  if (!p) throw NvmlError(env, "ENVMLSYM", path + " has no symbol " + name + " (not NVML, or a driver too old for confidential computing)");
  *out = reinterpret_cast<F>(p);
}

void Require(Napi::Env env, const char* fn) {
  if (!g_nvml.lib) throw NvmlError(env, "ENVMLCLOSED", std::string(fn) + ": NVML is not loaded (call nvmlOpen first)");
}

nvmlDevice_t Device(const Napi::CallbackInfo& info, const char* fn) {
  Napi::Env env = info.Env();
  Require(env, fn);
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, std::string(fn) + ": argument 'index' must be a number");
  double d = info[0].As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d < 1024) || static_cast<double>(static_cast<unsigned>(d)) != d) {
    throw Napi::RangeError::New(env, std::string(fn) + ": argument 'index' must be an integer in [0, 1024)");
  }
  nvmlDevice_t dev = nullptr;
  Check(env, g_nvml.getHandle(static_cast<unsigned>(d), &dev), "nvmlDeviceGetHandleByIndex_v2");
  return dev;
}

void Close() {
  if (!g_nvml.lib) return;
  if (g_nvml.shutdown) g_nvml.shutdown();
  dlclose(g_nvml.lib);
  g_nvml = Nvml{};
}

Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = "libnvidia-ml.so.1";
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    if (!info[0].IsString()) throw Napi::TypeError::New(env, "nvmlOpen: argument 'library' must be a string");
    path = info[0].As<Napi::String>().Utf8Value();
  }
  if (g_nvml.lib) {
    if (g_nvml.path == path) return env.Undefined();
    throw NvmlError(env, "ENVMLOPEN", "NVML is already loaded from " + g_nvml.path + "; call nvmlClose before loading " + path);
  }
  dlerror();
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* why = dlerror();
    throw NvmlError(env, "ENVMLLOAD", "cannot load " + path + ": " + (why ? why : "unknown dlopen error"));
  }
  Nvml n;
  n.lib = lib;
  n.path = path;
  try {
    Sym(env, lib, "nvmlInit_v2", path, &n.init);
    Sym(env, lib, "nvmlShutdown", path, &n.shutdown);
    Sym(env, lib, "nvmlErrorString", path, &n.errorString);
    Sym(env, lib, "nvmlDeviceGetCount_v2", path, &n.getCount);
    Sym(env, lib, "nvmlDeviceGetHandleByIndex_v2", path, &n.getHandle);
    Sym(env, lib, "nvmlDeviceGetUUID", path, &n.getUuid);
    Sym(env, lib, "nvmlDeviceGetArchitecture", path, &n.getArch);
    Sym(env, lib, "nvmlDeviceGetConfComputeGpuAttestationReport", path, &n.getReport);
    Sym(env, lib, "nvmlDeviceGetConfComputeGpuCertificate", path, &n.getCert);
  } catch (...) {
    dlclose(lib);
    throw;
  }
  nvmlReturn_t rc = n.init();
  if (rc != kNvmlSuccess) {
    const char* text = n.errorString(rc);
    std::string msg = std::string("nvmlInit_v2 failed: ") + (text ? text : "NVML error") + " (" + std::to_string(rc) + ")";
    dlclose(lib);
    Napi::Error e = NvmlError(env, "ENVML", msg);
    e.Set("nvmlReturn", Napi::Number::New(env, rc));
    throw e;
  }
  g_nvml = n;
  return env.Undefined();
}

Napi::Value DeviceCount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Require(env, "nvmlDeviceCount");
  unsigned int count = 0;
  Check(env, g_nvml.getCount(&count), "nvmlDeviceGetCount_v2");
  return Napi::Number::New(env, count);
}

Napi::Value DeviceUuid(const Napi::CallbackInfo& info) {
  nvmlDevice_t dev = Device(info, "nvmlDeviceUuid");
  char buf[kUuidBufferSize];
  std::memset(buf, 0, sizeof(buf));
  Check(info.Env(), g_nvml.getUuid(dev, buf, sizeof(buf)), "nvmlDeviceGetUUID");
  buf[sizeof(buf) - 1] = '\0';
  return Napi::String::New(info.Env(), buf);
}

Napi::Value DeviceArchitecture(const Napi::CallbackInfo& info) {
  nvmlDevice_t dev = Device(info, "nvmlDeviceArchitecture");
  unsigned int arch = 0;
  Check(info.Env(), g_nvml.getArch(dev, &arch), "nvmlDeviceGetArchitecture");
  return Napi::Number::New(info.Env(), arch);
}

// The report and certificate calls talk to the GPU and can take a long time: they run on a worker thread and
// resolve a promise, so the guest agent's event loop keeps serving while a GPU is attested.
std::atomic<int> g_inflight{0};

class NvmlCallWorker : public Napi::AsyncWorker {
 public:
  enum class Kind { kReport, kCertificate };
  NvmlCallWorker(Napi::Env env, Kind kind, nvmlDevice_t dev, const uint8_t* nonce)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), kind_(kind), dev_(dev) {
    if (nonce) std::memcpy(nonce_, nonce, kNonceSize);
    ++g_inflight;
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    if (kind_ == Kind::kReport) {
      call_ = "nvmlDeviceGetConfComputeGpuAttestationReport";
      auto r = std::make_unique<GpuAttestationReport>();
      std::memset(r.get(), 0, sizeof(GpuAttestationReport));
      std::memcpy(r->nonce, nonce_, kNonceSize);
      rc_ = g_nvml.getReport(dev_, r.get());
      if (rc_ == kNvmlSuccess) {
        if (r->attestationReportSize == 0 || r->attestationReportSize > kAttestationReportSize) {
          bad_ = "returned a report size of " + std::to_string(r->attestationReportSize);
        } else {
          out_.assign(r->attestationReport, r->attestationReport + r->attestationReportSize);
        }
      }
    } else {
      call_ = "nvmlDeviceGetConfComputeGpuCertificate";
      auto c = std::make_unique<GpuCertificate>();
      std::memset(c.get(), 0, sizeof(GpuCertificate));
      rc_ = g_nvml.getCert(dev_, c.get());
      if (rc_ == kNvmlSuccess) {
        if (c->attestationCertChainSize == 0 || c->attestationCertChainSize > kAttestationCertChainSize) {
          bad_ = "returned a chain size of " + std::to_string(c->attestationCertChainSize);
        } else {
          out_.assign(c->attestationCertChain, c->attestationCertChain + c->attestationCertChainSize);
        }
      }
    }
    if (rc_ != kNvmlSuccess) {
      const char* t = g_nvml.errorString ? g_nvml.errorString(rc_) : nullptr;
      text_ = t ? t : "NVML error";
    }
  }

  void OnOK() override {
    --g_inflight;
    Napi::Env env = Env();
    if (rc_ != kNvmlSuccess) {
      Napi::Error e = NvmlError(env, "ENVML", call_ + " failed: " + text_ + " (" + std::to_string(rc_) + ")");
      e.Set("nvmlReturn", Napi::Number::New(env, rc_));
      deferred_.Reject(e.Value());
    } else if (!bad_.empty()) {
      deferred_.Reject(NvmlError(env, "ENVML", call_ + " " + bad_).Value());
    } else {
      deferred_.Resolve(Napi::Buffer<uint8_t>::Copy(env, out_.data(), out_.size()));
    }
  }
  void OnError(const Napi::Error& e) override {
    --g_inflight;
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Kind kind_;
  nvmlDevice_t dev_;
  uint8_t nonce_[kNonceSize] = {};
  nvmlReturn_t rc_ = kNvmlSuccess;
  std::string call_;
  std::string text_;
  std::string bad_;
  std::vector<uint8_t> out_;
};

Napi::Value AttestationReport(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvmlDevice_t dev = Device(info, "nvmlAttestationReport");
  if (info.Length() < 2 || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      info[1].As<Napi::Uint8Array>().ByteLength() != kNonceSize) {
    throw Napi::TypeError::New(env, "nvmlAttestationReport: argument 'nonce' must be a 32-byte Buffer");
  }
  auto* w = new NvmlCallWorker(env, NvmlCallWorker::Kind::kReport, dev, info[1].As<Napi::Uint8Array>().Data());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value CertificateChain(const Napi::CallbackInfo& info) {
  nvmlDevice_t dev = Device(info, "nvmlCertificateChain");
  auto* w = new NvmlCallWorker(info.Env(), NvmlCallWorker::Kind::kCertificate, dev, nullptr);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value CloseJs(const Napi::CallbackInfo& info) {
  if (g_inflight.load() > 0) {
    throw NvmlError(info.Env(), "ENVMLBUSY", "nvmlClose: " + std::to_string(g_inflight.load()) + " NVML call(s) still running");
  }
  Close();
  return info.Env().Undefined();
}

}  // namespace

void InitNvml(Napi::Env env, Napi::Object exports) {
  exports.Set("nvmlOpen", Napi::Function::New(env, Open, "nvmlOpen"));
  exports.Set("nvmlDeviceCount", Napi::Function::New(env, DeviceCount, "nvmlDeviceCount"));
  exports.Set("nvmlDeviceUuid", Napi::Function::New(env, DeviceUuid, "nvmlDeviceUuid"));
  exports.Set("nvmlDeviceArchitecture", Napi::Function::New(env, DeviceArchitecture, "nvmlDeviceArchitecture"));
  exports.Set("nvmlAttestationReport", Napi::Function::New(env, AttestationReport, "nvmlAttestationReport"));
  exports.Set("nvmlCertificateChain", Napi::Function::New(env, CertificateChain, "nvmlCertificateChain"));
  exports.Set("nvmlClose", Napi::Function::New(env, CloseJs, "nvmlClose"));
}

}  // namespace ccgpu

// Confidential-guest report ioctls for the attesters' fallback path (configfs-tsm absent).
//
// SNP_GET_REPORT takes a struct holding *pointers* to the request and response buffers, which JavaScript cannot
// build, so it is marshalled here. The structs are declared locally (the uapi headers are not always installed) and
// checked against the kernel headers when they are present.
//
//   snpGetReport(device, msgVersion, req: Uint8Array(96), resp: Uint8Array(4000)) -> BigInt exitinfo2
//   tdxGetReport0(device, arg: Uint8Array(1088))                                 -> undefined (arg filled in)
//   snpMarshalRequest(msgVersion, req, resp) -> Buffer(32): the ioctl argument exactly as passed (tests)
//   teeGuestConstants: request numbers and struct sizes/offsets
#include "tee-guest.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "errors.h"

#if defined(__has_include)
#if __has_include(<linux/sev-guest.h>)
#include <linux/sev-guest.h>
#define CCGPU_HAVE_SEV_GUEST_H 1
#endif
#if __has_include(<linux/tdx-guest.h>)
#include <linux/tdx-guest.h>
#define CCGPU_HAVE_TDX_GUEST_H 1
#endif
#endif

namespace ccgpu {
namespace {

// include/uapi/linux/sev-guest.h
struct SnpGuestRequestIoctl {
  uint8_t msg_version;
  uint64_t req_data;
  uint64_t resp_data;
  uint64_t exitinfo2;  // bits 31:0 firmware error, 63:32 VMM error
};
static_assert(sizeof(SnpGuestRequestIoctl) == 32, "snp_guest_request_ioctl is 32 bytes");
static_assert(offsetof(SnpGuestRequestIoctl, req_data) == 8, "req_data at 8");
static_assert(offsetof(SnpGuestRequestIoctl, resp_data) == 16, "resp_data at 16");
static_assert(offsetof(SnpGuestRequestIoctl, exitinfo2) == 24, "exitinfo2 at 24");

constexpr size_t kSnpReportReqSize = 96;    // user_data[64], vmpl u32, rsvd[28]
constexpr size_t kSnpReportRespSize = 4000;  // MSG_REPORT_RSP
constexpr size_t kTdxReportDataLen = 64;
constexpr size_t kTdxReportLen = 1024;

constexpr unsigned long Iowr(unsigned type, unsigned nr, unsigned size) {
  return (3UL << 30) | (static_cast<unsigned long>(size) << 16) | (static_cast<unsigned long>(type) << 8) | nr;
}
constexpr unsigned long kSnpGetReport = Iowr('S', 0x0, sizeof(SnpGuestRequestIoctl));
constexpr unsigned long kTdxCmdGetReport0 = Iowr('T', 0x1, kTdxReportDataLen + kTdxReportLen);

#ifdef CCGPU_HAVE_SEV_GUEST_H
static_assert(kSnpGetReport == SNP_GET_REPORT, "SNP_GET_REPORT matches the kernel header");
static_assert(sizeof(struct snp_guest_request_ioctl) == sizeof(SnpGuestRequestIoctl), "struct size matches");
static_assert(sizeof(struct snp_report_req) == kSnpReportReqSize, "snp_report_req size matches");
static_assert(sizeof(struct snp_report_resp) == kSnpReportRespSize, "snp_report_resp size matches");
#endif
#ifdef CCGPU_HAVE_TDX_GUEST_H
static_assert(kTdxCmdGetReport0 == TDX_CMD_GET_REPORT0, "TDX_CMD_GET_REPORT0 matches the kernel header");
#endif

Napi::Uint8Array ArgBytes(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, size_t size) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || !info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, std::string(fn) + ": argument '" + name + "' must be a Buffer or Uint8Array");
  }
  Napi::Uint8Array a = info[i].As<Napi::Uint8Array>();
  if (a.ByteLength() != size) {
    throw Napi::RangeError::New(env, std::string(fn) + ": argument '" + name + "' must be " + std::to_string(size) +
                                         " bytes, got " + std::to_string(a.ByteLength()));
  }
  return a;
}

std::string ArgPath(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  if (info.Length() <= i || !info[i].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": argument 'device' must be a string");
  }
  std::string p = info[i].As<Napi::String>().Utf8Value();
  if (p.empty() || p.find('\0') != std::string::npos) {
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": argument 'device' must be a non-empty path");
  }
  return p;
}

SnpGuestRequestIoctl Marshal(uint32_t msg_version, Napi::Uint8Array req, Napi::Uint8Array resp) {
  SnpGuestRequestIoctl g;
  std::memset(&g, 0, sizeof(g));
  g.msg_version = static_cast<uint8_t>(msg_version);
  g.req_data = reinterpret_cast<uintptr_t>(req.Data());
  g.resp_data = reinterpret_cast<uintptr_t>(resp.Data());
  return g;
}

uint32_t ArgMsgVersion(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  uint32_t v = ArgUint32(info, i, fn, "msgVersion");
  if (v == 0 || v > 255) throw Napi::RangeError::New(info.Env(), std::string(fn) + ": msgVersion must be 1..255");
  return v;
}

int OpenDevice(Napi::Env env, const std::string& device, const char* fn) {
  int fd;
  do {
    fd = open(device.c_str(), O_RDWR | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw SystemError(env, errno, "open", std::string(fn) + " " + device);
  return fd;
}

int IoctlRetry(int fd, unsigned long request, void* arg) {
  int rc;
  do {
    rc = ioctl(fd, request, arg);
  } while (rc < 0 && errno == EINTR);
  return rc;
}

Napi::Value SnpGetReport(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "snpGetReport";
  std::string device = ArgPath(info, 0, fn);
  uint32_t msg_version = ArgMsgVersion(info, 1, fn);
  Napi::Uint8Array req = ArgBytes(info, 2, fn, "req", kSnpReportReqSize);
  Napi::Uint8Array resp = ArgBytes(info, 3, fn, "resp", kSnpReportRespSize);
  SnpGuestRequestIoctl g = Marshal(msg_version, req, resp);
  int fd = OpenDevice(env, device, fn);
  int rc = IoctlRetry(fd, kSnpGetReport, &g);
  int err = errno;
  close(fd);
  if (rc < 0) {
    Napi::Error e = SystemError(env, err, "ioctl", std::string("SNP_GET_REPORT on ") + device);
    e.Set("exitinfo2", Napi::BigInt::New(env, static_cast<uint64_t>(g.exitinfo2)));
    throw e;
  }
  return Napi::BigInt::New(env, static_cast<uint64_t>(g.exitinfo2));
}

Napi::Value SnpMarshalRequest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "snpMarshalRequest";
  uint32_t msg_version = ArgMsgVersion(info, 0, fn);
  Napi::Uint8Array req = ArgBytes(info, 1, fn, "req", kSnpReportReqSize);
  Napi::Uint8Array resp = ArgBytes(info, 2, fn, "resp", kSnpReportRespSize);
  SnpGuestRequestIoctl g = Marshal(msg_version, req, resp);
  Napi::Object out = Napi::Object::New(env);
  out.Set("arg", Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(&g), sizeof(g)));
  out.Set("reqAddress", Napi::BigInt::New(env, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(req.Data()))));
  out.Set("respAddress", Napi::BigInt::New(env, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(resp.Data()))));
  return out;
}

Napi::Value TdxGetReport0(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "tdxGetReport0";
  std::string device = ArgPath(info, 0, fn);
  Napi::Uint8Array arg = ArgBytes(info, 1, fn, "arg", kTdxReportDataLen + kTdxReportLen);
  int fd = OpenDevice(env, device, fn);
  int rc = IoctlRetry(fd, kTdxCmdGetReport0, arg.Data());
  int err = errno;
  close(fd);
  if (rc < 0) throw SystemError(env, err, "ioctl", std::string("TDX_CMD_GET_REPORT0 on ") + device);
  return env.Undefined();
}

}  // namespace

void InitTeeGuest(Napi::Env env, Napi::Object exports) {
  exports.Set("snpGetReport", Napi::Function::New(env, SnpGetReport, "snpGetReport"));
  exports.Set("snpMarshalRequest", Napi::Function::New(env, SnpMarshalRequest, "snpMarshalRequest"));
  exports.Set("tdxGetReport0", Napi::Function::New(env, TdxGetReport0, "tdxGetReport0"));
  Napi::Object c = Napi::Object::New(env);
  c.Set("SNP_GET_REPORT", Napi::Number::New(env, static_cast<double>(kSnpGetReport)));
  c.Set("TDX_CMD_GET_REPORT0", Napi::Number::New(env, static_cast<double>(kTdxCmdGetReport0)));
  c.Set("SNP_GUEST_REQUEST_IOCTL_SIZE", Napi::Number::New(env, sizeof(SnpGuestRequestIoctl)));
  c.Set("SNP_REPORT_REQ_SIZE", Napi::Number::New(env, kSnpReportReqSize));
  c.Set("SNP_REPORT_RESP_SIZE", Napi::Number::New(env, kSnpReportRespSize));
  c.Set("TDX_REPORT_REQ_SIZE", Napi::Number::New(env, kTdxReportDataLen + kTdxReportLen));
#ifdef CCGPU_HAVE_SEV_GUEST_H
  c.Set("checkedAgainstSevGuestHeader", Napi::Boolean::New(env, true));
#else
  c.Set("checkedAgainstSevGuestHeader", Napi::Boolean::New(env, false));
#endif
  exports.Set("teeGuestConstants", c);
}

}  // namespace ccgpu

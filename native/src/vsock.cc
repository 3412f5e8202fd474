// AF_VSOCK sockets: create, connect (non-blocking), bind, listen, accept, addresses.
#include "vsock.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <linux/vm_sockets.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "errors.h"

namespace ccgpu {
namespace {

std::string Addr(uint32_t cid, uint32_t port) { return "cid " + std::to_string(cid) + " port " + std::to_string(port); }

sockaddr_vm MakeAddr(uint32_t cid, uint32_t port) {
  sockaddr_vm sa{};
  sa.svm_family = AF_VSOCK;
  sa.svm_cid = cid;
  sa.svm_port = port;
  return sa;
}

Napi::Object AddrObject(Napi::Env env, const sockaddr_vm& sa) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("cid", Napi::Number::New(env, sa.svm_cid));
  o.Set("port", Napi::Number::New(env, sa.svm_port));
  return o;
}

// vsockSocket(): fd of a new non-blocking, close-on-exec AF_VSOCK stream socket.
Napi::Value Socket(const Napi::CallbackInfo& info) {
  int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw SystemError(info.Env(), errno, "socket", "AF_VSOCK, SOCK_STREAM");
  return Napi::Number::New(info.Env(), fd);
}

// vsockConnect(fd, cid, port): true when connected at once, false when in progress (EINPROGRESS).
Napi::Value Connect(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "vsockConnect");
  uint32_t cid = ArgUint32(info, 1, "vsockConnect", "cid");
  uint32_t port = ArgUint32(info, 2, "vsockConnect", "port");
  sockaddr_vm sa = MakeAddr(cid, port);
  int rc;
  do {
    rc = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  } while (rc < 0 && errno == EINTR);
  if (rc == 0) return Napi::Boolean::New(info.Env(), true);
  if (errno == EINPROGRESS) return Napi::Boolean::New(info.Env(), false);
  throw SystemError(info.Env(), errno, "connect", Addr(cid, port));
}

// vsockBind(fd, cid, port)
Napi::Value Bind(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "vsockBind");
  uint32_t cid = ArgUint32(info, 1, "vsockBind", "cid");
  uint32_t port = ArgUint32(info, 2, "vsockBind", "port");
  sockaddr_vm sa = MakeAddr(cid, port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) throw SystemError(info.Env(), errno, "bind", Addr(cid, port));
  return info.Env().Undefined();
}

// vsockListen(fd, backlog)
Napi::Value Listen(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "vsockListen");
  uint32_t backlog = info.Length() > 1 ? ArgUint32(info, 1, "vsockListen", "backlog") : 128;
  if (listen(fd, static_cast<int>(backlog > 4096 ? 4096 : backlog)) < 0) throw SystemError(info.Env(), errno, "listen", "");
  return info.Env().Undefined();
}

// vsockAccept(fd): { fd, cid, port } of a new non-blocking connection, or null when none is pending.
Napi::Value Accept(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "vsockAccept");
  sockaddr_vm sa{};
  socklen_t len = sizeof(sa);
  int c;
  do {
    c = accept4(fd, reinterpret_cast<sockaddr*>(&sa), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  } while (c < 0 && errno == EINTR);
  if (c < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return info.Env().Null();
    throw SystemError(info.Env(), errno, "accept", "");
  }
  Napi::Object o = AddrObject(info.Env(), sa);
  o.Set("fd", Napi::Number::New(info.Env(), c));
  return o;
}

Napi::Value LocalAddress(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "vsockLocalAddress");
  sockaddr_vm sa{};
  socklen_t len = sizeof(sa);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) < 0) throw SystemError(info.Env(), errno, "getsockname", "");
  return AddrObject(info.Env(), sa);
}

Napi::Value RemoteAddress(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "vsockRemoteAddress");
  sockaddr_vm sa{};
  socklen_t len = sizeof(sa);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len) < 0) throw SystemError(info.Env(), errno, "getpeername", "");
  return AddrObject(info.Env(), sa);
}

// socketError(fd): pending SO_ERROR (0 = none), used to finish a non-blocking connect.
Napi::Value SocketError(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "socketError");
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) throw SystemError(info.Env(), errno, "getsockopt", "SO_ERROR");
  return Napi::Number::New(info.Env(), err);
}

}  // namespace

void InitVsock(Napi::Env env, Napi::Object exports) {
  exports.Set("vsockSocket", Napi::Function::New(env, Socket, "vsockSocket"));
  exports.Set("vsockConnect", Napi::Function::New(env, Connect, "vsockConnect"));
  exports.Set("vsockBind", Napi::Function::New(env, Bind, "vsockBind"));
  exports.Set("vsockListen", Napi::Function::New(env, Listen, "vsockListen"));
  exports.Set("vsockAccept", Napi::Function::New(env, Accept, "vsockAccept"));
  exports.Set("vsockLocalAddress", Napi::Function::New(env, LocalAddress, "vsockLocalAddress"));
  exports.Set("vsockRemoteAddress", Napi::Function::New(env, RemoteAddress, "vsockRemoteAddress"));
  exports.Set("socketError", Napi::Function::New(env, SocketError, "socketError"));
  Napi::Object c = Napi::Object::New(env);
  c.Set("AF_VSOCK", Napi::Number::New(env, AF_VSOCK));
  c.Set("VMADDR_CID_ANY", Napi::Number::New(env, VMADDR_CID_ANY));
  c.Set("VMADDR_CID_HOST", Napi::Number::New(env, VMADDR_CID_HOST));
  c.Set("VMADDR_CID_LOCAL", Napi::Number::New(env, 1));
  c.Set("VMADDR_PORT_ANY", Napi::Number::New(env, VMADDR_PORT_ANY));
  c.Set("IOCTL_VM_SOCKETS_GET_LOCAL_CID", Napi::Number::New(env, IOCTL_VM_SOCKETS_GET_LOCAL_CID));
  exports.Set("vsockConstants", c);
}

}  // namespace ccgpu

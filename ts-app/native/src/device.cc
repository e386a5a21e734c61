#include "device.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "cryptodev_abi.h"

#include "errors.h"
#include "workers.h"

namespace vcryptodev {

Napi::Function Device::Init(Napi::Env env) {
  return DefineClass(
      env, "Device",
      {
          InstanceMethod<&Device::Open>("open"),
          InstanceMethod<&Device::CreateSession>("createSession"),
          InstanceMethod<&Device::FreeSession>("freeSession"),
          InstanceMethod<&Device::Crypt>("crypt"),
          InstanceMethod<&Device::AuthCrypt>("authCrypt"),
          InstanceMethod<&Device::Close>("close"),
          InstanceAccessor<&Device::GetInflight>("inflight"),
          InstanceAccessor<&Device::GetPath>("path"),
      });
}

// new Device(path): nothing is opened until open().
Device::Device(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Device>(info) {
  if (info.Length() < 1 || !info[0].IsString())
    throw Napi::TypeError::New(info.Env(), "Device(path): path must be a string");
  path_ = info[0].As<Napi::String>().Utf8Value();
}

// Reached only when no request is in flight (each holds a reference).
Device::~Device() {
  if (fd_ >= 0) close(fd_);
}

static Bytes BytesArg(const Napi::CallbackInfo &info, size_t i, const char *what,
                      bool nullable) {
  Napi::Value v = info[i];
  if (nullable && (v.IsNull() || v.IsUndefined())) return Bytes();
  if (!v.IsTypedArray() ||
      v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a Uint8Array");
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  if (a.ByteLength() > UINT32_MAX)
    throw Napi::RangeError::New(info.Env(), std::string(what) + " is too large");
  return Bytes(a.Data(), a.Data() + a.ByteLength());
}

static uint32_t U32Arg(const Napi::CallbackInfo &info, size_t i, const char *what) {
  Napi::Value v = info[i];
  if (!v.IsNumber())
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= UINT32_MAX) || d != static_cast<double>(static_cast<uint32_t>(d)))
    throw Napi::RangeError::New(info.Env(), std::string(what) + " must be a 32-bit unsigned integer");
  return static_cast<uint32_t>(d);
}

// A crypt_op/crypt_auth_op direction: COP_ENCRYPT or COP_DECRYPT.
static uint16_t OpArg(const Napi::CallbackInfo &info, size_t i) {
  uint32_t op = U32Arg(info, i, "op");
  if (op != COP_ENCRYPT && op != COP_DECRYPT)
    throw Napi::RangeError::New(info.Env(), "op must be COP_ENCRYPT or COP_DECRYPT");
  return static_cast<uint16_t>(op);
}

Napi::Value Device::RejectIfNotOpen(Napi::Env env, const char *ioctl_name) {
  if (state_ == State::kOpen) return env.Null();
  auto d = Napi::Promise::Deferred::New(env);
  d.Reject(MakeSysError(env, EBADF, "ioctl", ioctl_name, path_).Value());
  return d.Promise();
}

// open(): Promise<void>
Napi::Value Device::Open(const Napi::CallbackInfo &info) {
  if (state_ != State::kNew)
    throw Napi::Error::New(info.Env(), "Device.open() may be called once");
  state_ = State::kOpening;
  return (new OpenWorker(this))->Start();
}

void Device::Opened(int fd) {
  fd_ = fd;
  // close() may have been called while the open was running.
  if (state_ == State::kOpening) state_ = State::kOpen;
}

void Device::OpenFailed() {
  if (state_ == State::kOpening) state_ = State::kClosed;
}

// createSession(cipher, key | null, mac, mackey | null): Promise<number>
Napi::Value Device::CreateSession(const Napi::CallbackInfo &info) {
  uint32_t cipher = U32Arg(info, 0, "cipher");
  Bytes key = BytesArg(info, 1, "key", true);
  uint32_t mac = U32Arg(info, 2, "mac");
  Bytes mackey = BytesArg(info, 3, "mackey", true);
  Napi::Value rejected = RejectIfNotOpen(info.Env(), "CIOCGSESSION");
  if (!rejected.IsNull()) return rejected;
  return (new SessionWorker(this, cipher, std::move(key), mac, std::move(mackey)))->Start();
}

// freeSession(ses): Promise<void>
Napi::Value Device::FreeSession(const Napi::CallbackInfo &info) {
  uint32_t ses = U32Arg(info, 0, "ses");
  Napi::Value rejected = RejectIfNotOpen(info.Env(), "CIOCFSESSION");
  if (!rejected.IsNull()) return rejected;
  return (new FreeSessionWorker(this, ses))->Start();
}

// crypt(ses, op, iv | null, src, macLen): Promise<Buffer>
//   macLen 0: a cipher session, resolves to dst (src's size);
//   macLen > 0: a hash/HMAC session, resolves to the digest.
Napi::Value Device::Crypt(const Napi::CallbackInfo &info) {
  uint32_t ses = U32Arg(info, 0, "ses");
  uint16_t op = OpArg(info, 1);
  Bytes iv = BytesArg(info, 2, "iv", true);
  Bytes src = BytesArg(info, 3, "src", false);
  uint32_t mac_len = U32Arg(info, 4, "macLen");
  if (mac_len > AALG_MAX_RESULT_LEN)
    throw Napi::RangeError::New(info.Env(), "macLen is larger than any digest");
  Napi::Value rejected = RejectIfNotOpen(info.Env(), "CIOCCRYPT");
  if (!rejected.IsNull()) return rejected;
  return (new CryptWorker(this, ses, op, std::move(iv),
                          std::move(src), mac_len))
      ->Start();
}

// authCrypt(ses, op, iv, aad, src, tagLen): Promise<Buffer | null>
//   CIOCAUTHCRYPT on an AEAD session: encrypting, resolves to ciphertext ||
//   tag; decrypting (src = ciphertext || tag), to the plaintext, or null
//   when the tag does not verify.
Napi::Value Device::AuthCrypt(const Napi::CallbackInfo &info) {
  uint32_t ses = U32Arg(info, 0, "ses");
  uint16_t op = OpArg(info, 1);
  Bytes iv = BytesArg(info, 2, "iv", false);
  Bytes aad = BytesArg(info, 3, "aad", false);
  Bytes src = BytesArg(info, 4, "src", false);
  uint32_t tag_len = U32Arg(info, 5, "tagLen");
  if (tag_len == 0 || tag_len > AALG_MAX_RESULT_LEN)
    throw Napi::RangeError::New(info.Env(), "tagLen must be 1..64");
  Napi::Value rejected = RejectIfNotOpen(info.Env(), "CIOCAUTHCRYPT");
  if (!rejected.IsNull()) return rejected;
  return (new AuthCryptWorker(this, ses, op, std::move(iv),
                              std::move(aad), std::move(src), tag_len))
      ->Start();
}

// close(): Promise<void>, settled once the descriptor is closed (after the
// requests in flight). Later requests are rejected with EBADF.
Napi::Value Device::Close(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto d = Napi::Promise::Deferred::New(env);
  switch (state_) {
    case State::kNew:
    case State::kClosed:
      state_ = State::kClosed;
      d.Resolve(env.Undefined());
      return d.Promise();
    default:
      break;
  }
  closers_.push_back(d);
  if (state_ == State::kOpen || state_ == State::kOpening) state_ = State::kClosing;
  MaybeStartClose();
  return d.Promise();
}

void Device::End() {
  inflight_--;
  MaybeStartClose();
}

void Device::MaybeStartClose() {
  if (state_ != State::kClosing || inflight_ != 0) return;
  if (fd_ < 0) {  // the open failed
    Closed(0);
    return;
  }
  state_ = State::kClosingFd;
  (new CloseWorker(this))->Start();
}

void Device::Closed(int err) {
  fd_ = -1;
  state_ = State::kClosed;
  Napi::Env env = Env();
  std::vector<Napi::Promise::Deferred> closers;
  closers.swap(closers_);
  for (auto &d : closers) {
    if (err)
      d.Reject(MakeSysError(env, err, "close", nullptr, path_).Value());
    else
      d.Resolve(env.Undefined());
  }
}

Napi::Value Device::GetInflight(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), inflight_);
}

Napi::Value Device::GetPath(const Napi::CallbackInfo &info) {
  return Napi::String::New(info.Env(), path_);
}

}  // namespace vcryptodev

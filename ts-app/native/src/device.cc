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

// new Device(path, { inlineMax }?): nothing is opened until open().
// inlineMax: the largest request (bytes) run on the JS thread; 0: none.
Device::Device(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Device>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString())
    throw Napi::TypeError::New(env, "Device(path): path must be a string");
  path_ = info[0].As<Napi::String>().Utf8Value();
  if (info.Length() < 2 || info[1].IsUndefined()) return;
  if (!info[1].IsObject())
    throw Napi::TypeError::New(env, "Device(path, options): options must be an object");
  Napi::Value v = info[1].As<Napi::Object>().Get("inlineMax");
  if (v.IsUndefined()) return;
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= 0 && d <= UINT32_MAX) || d != static_cast<double>(static_cast<uint32_t>(d)))
    throw Napi::RangeError::New(env, "inlineMax must be a 32-bit unsigned integer");
  inline_max_ = static_cast<uint32_t>(d);
}

// Reached only when no request is in flight (each holds a reference).
Device::~Device() {
  if (fd_ >= 0) close(fd_);
}

// A Uint8Array argument's bytes, valid during the call only.
struct View {
  const uint8_t *data = nullptr;
  uint32_t len = 0;
  Bytes Copy() const { return Bytes(data, data + len); }
};

static View ViewArg(const Napi::CallbackInfo &info, size_t i, const char *what,
                    bool nullable) {
  Napi::Value v = info[i];
  if (nullable && (v.IsNull() || v.IsUndefined())) return View();
  if (!v.IsTypedArray() ||
      v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a Uint8Array");
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  if (a.ByteLength() > UINT32_MAX)
    throw Napi::RangeError::New(info.Env(), std::string(what) + " is too large");
  return View{a.Data(), static_cast<uint32_t>(a.ByteLength())};
}

static Bytes BytesArg(const Napi::CallbackInfo &info, size_t i, const char *what,
                      bool nullable) {
  return ViewArg(info, i, what, nullable).Copy();
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
  Napi::Env env = info.Env();
  uint32_t ses = U32Arg(info, 0, "ses");
  uint16_t op = OpArg(info, 1);
  View iv = ViewArg(info, 2, "iv", true);
  View src = ViewArg(info, 3, "src", false);
  uint32_t mac_len = U32Arg(info, 4, "macLen");
  if (mac_len > AALG_MAX_RESULT_LEN)
    throw Napi::RangeError::New(env, "macLen is larger than any digest");
  Napi::Value rejected = RejectIfNotOpen(env, "CIOCCRYPT");
  if (!rejected.IsNull()) return rejected;
  if (src.len > inline_max_)
    return (new CryptWorker(this, ses, op, iv.Copy(), src.Copy(), mac_len))
        ->Start();
  // Inline: straight from the caller's bytes into the result's.
  auto out = Napi::Buffer<uint8_t>::New(env, mac_len ? mac_len : src.len);
  int err = DoCrypt(fd_, ses, op, iv.data, src.data, src.len,
                    mac_len ? nullptr : out.Data(), mac_len ? out.Data() : nullptr);
  return Settled(env, err, "CIOCCRYPT", out);
}

// authCrypt(ses, op, iv, aad, src, tagLen): Promise<Buffer | null>
//   CIOCAUTHCRYPT on an AEAD session: encrypting, resolves to ciphertext ||
//   tag; decrypting (src = ciphertext || tag), to the plaintext, or null
//   when the tag does not verify.
Napi::Value Device::AuthCrypt(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint32_t ses = U32Arg(info, 0, "ses");
  uint16_t op = OpArg(info, 1);
  View iv = ViewArg(info, 2, "iv", false);
  View aad = ViewArg(info, 3, "aad", false);
  View src = ViewArg(info, 4, "src", false);
  uint32_t tag_len = U32Arg(info, 5, "tagLen");
  if (tag_len == 0 || tag_len > AALG_MAX_RESULT_LEN)
    throw Napi::RangeError::New(env, "tagLen must be 1..64");
  Napi::Value rejected = RejectIfNotOpen(env, "CIOCAUTHCRYPT");
  if (!rejected.IsNull()) return rejected;
  if (static_cast<uint64_t>(src.len) + aad.len > inline_max_)
    return (new AuthCryptWorker(this, ses, op, iv.Copy(), aad.Copy(),
                                src.Copy(), tag_len))
        ->Start();
  uint32_t out_len;
  int err = AuthOutLen(op, src.len, tag_len, &out_len);
  if (err) return Settled(env, err, "CIOCAUTHCRYPT", env.Null());
  auto out = Napi::Buffer<uint8_t>::New(env, out_len);
  err = DoAuthCrypt(fd_, ses, op, iv.data, iv.len, aad.data, aad.len,
                    src.data, src.len, out.Data(), out_len, tag_len);
  // A tag that does not verify resolves to null, as on the worker path.
  if (err == EBADMSG && op == COP_DECRYPT)
    return Settled(env, 0, "CIOCAUTHCRYPT", env.Null());
  return Settled(env, err, "CIOCAUTHCRYPT", out);
}

// A promise already settled: rejected with the errno when err != 0, else
// resolved to value (the inline path).
Napi::Value Device::Settled(Napi::Env env, int err, const char *ioctl_name,
                            Napi::Value value) {
  auto d = Napi::Promise::Deferred::New(env);
  if (err)
    d.Reject(MakeSysError(env, err, "ioctl", ioctl_name, path_).Value());
  else
    d.Resolve(value);
  return d.Promise();
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

#include "workers.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cryptodev_abi.h"

#include "errors.h"

namespace vcryptodev {

// A signal may interrupt a wait in the driver; every request here is safe
// to repeat.
template <typename T>
static int IoctlRetry(int fd, unsigned long req, T *arg) {
  int r;
  do {
    r = ioctl(fd, req, arg);
  } while (r < 0 && errno == EINTR);
  return r;
}

DeviceWorker::DeviceWorker(Device *dev, const char *syscall,
                           const char *ioctl_name)
    : Napi::AsyncWorker(dev->Env(), "vcryptodev"),
      dev_(dev),
      fd_(dev->fd()),
      self_(Napi::Persistent(dev->Value())),
      deferred_(Napi::Promise::Deferred::New(dev->Env())),
      syscall_(syscall),
      ioctl_name_(ioctl_name) {}

Napi::Promise DeviceWorker::Start() {
  Napi::Promise p = deferred_.Promise();
  dev_->Begin();
  Queue();
  return p;
}

void DeviceWorker::Fail(int err) {
  err_ = err;
  SetError("syscall failed");
}

void DeviceWorker::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  Done(true);
  dev_->End();
  deferred_.Resolve(Result(env));
}

void DeviceWorker::OnError(const Napi::Error &e) {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  Done(false);
  dev_->End();
  deferred_.Reject(
      MakeSysError(env, err_, syscall_, ioctl_name_, dev_->path()).Value());
}

void OpenWorker::Execute() {
  int fd;
  do {
    fd = open(dev_->path().c_str(), O_RDWR | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    Fail(errno);
    return;
  }
  opened_ = fd;
}

void OpenWorker::Done(bool ok) {
  if (ok)
    dev_->Opened(opened_);
  else
    dev_->OpenFailed();
}

void CloseWorker::Execute() {
  // Linux releases the descriptor even when close() reports EINTR.
  if (close(fd_) < 0 && errno != EINTR) close_err_ = errno;
}

void CloseWorker::Done(bool ok) { dev_->Closed(close_err_); }

void SessionWorker::Execute() {
  struct session_op sop = {};
  sop.cipher = cipher_;
  sop.mac = mac_;
  sop.keylen = static_cast<__u32>(key_.size());
  sop.key = key_.empty() ? nullptr : key_.data();
  sop.mackeylen = static_cast<__u32>(mackey_.size());
  sop.mackey = mackey_.empty() ? nullptr : mackey_.data();
  if (IoctlRetry(fd_, CIOCGSESSION, &sop) < 0) {
    Fail(errno);
    return;
  }
  ses_ = sop.ses;
}

Napi::Value SessionWorker::Result(Napi::Env env) {
  return Napi::Number::New(env, ses_);
}

void FreeSessionWorker::Execute() {
  __u32 ses = ses_;
  if (IoctlRetry(fd_, CIOCFSESSION, &ses) < 0) Fail(errno);
}

int DoCrypt(int fd, uint32_t ses, uint16_t op, const uint8_t *iv,
            const uint8_t *src, uint32_t len, uint8_t *dst, uint8_t *mac) {
  // Never hand the driver a NULL source, even for zero bytes.
  static const uint8_t empty = 0;
  struct crypt_op cop = {};
  cop.ses = ses;
  cop.op = op;
  cop.flags = COP_FLAG_NONE;
  cop.len = len;
  cop.src = const_cast<uint8_t *>(len ? src : &empty);
  cop.dst = dst;
  cop.mac = mac;
  cop.iv = const_cast<uint8_t *>(iv);
  return IoctlRetry(fd, CIOCCRYPT, &cop) < 0 ? errno : 0;
}

void CryptWorker::Execute() {
  // A hash/HMAC session produces mac_ only; a cipher session dst_.
  if (mac_.empty()) dst_.resize(src_.size());
  int err = DoCrypt(fd_, ses_, op_, iv_.empty() ? nullptr : iv_.data(),
                    src_.data(), static_cast<uint32_t>(src_.size()),
                    dst_.empty() ? nullptr : dst_.data(),
                    mac_.empty() ? nullptr : mac_.data());
  if (err) Fail(err);
}

Napi::Value CryptWorker::Result(Napi::Env env) {
  const Bytes &out = mac_.empty() ? dst_ : mac_;
  return Napi::Buffer<uint8_t>::Copy(env, out.data(), out.size());
}

int AuthOutLen(uint16_t op, size_t src_len, uint32_t tag_len,
               uint32_t *out_len) {
  if (op == COP_ENCRYPT) {
    if (src_len > UINT32_MAX - tag_len) return EINVAL;
    *out_len = static_cast<uint32_t>(src_len + tag_len);
  } else {
    if (src_len < tag_len || src_len > UINT32_MAX) return EINVAL;
    *out_len = static_cast<uint32_t>(src_len - tag_len);
  }
  return 0;
}

int DoAuthCrypt(int fd, uint32_t ses, uint16_t op, const uint8_t *iv,
                uint32_t iv_len, const uint8_t *aad, uint32_t aad_len,
                const uint8_t *src, uint32_t len, uint8_t *dst,
                uint32_t out_len, uint32_t tag_len) {
  // Never hand the driver a NULL buffer, even for zero bytes.
  static const uint8_t empty_src = 0;
  uint8_t empty_dst = 0;
  struct crypt_auth_op caop = {};
  caop.ses = ses;
  caop.op = op;
  caop.flags = COP_FLAG_NONE;
  caop.len = len;
  caop.auth_len = aad_len;
  caop.auth_src = aad_len ? const_cast<uint8_t *>(aad) : nullptr;
  caop.src = const_cast<uint8_t *>(len ? src : &empty_src);
  caop.dst = out_len ? dst : &empty_dst;
  caop.tag_len = tag_len;
  caop.iv = iv_len ? const_cast<uint8_t *>(iv) : nullptr;
  caop.iv_len = iv_len;
  if (IoctlRetry(fd, CIOCAUTHCRYPT, &caop) < 0) return errno;
  // The driver answered another length than the layout's.
  return caop.len == out_len ? 0 : EIO;
}

void AuthCryptWorker::Execute() {
  uint32_t out;
  int err = AuthOutLen(op_, src_.size(), tag_len_, &out);
  if (err) {
    Fail(err);
    return;
  }
  dst_.resize(out);
  err = DoAuthCrypt(fd_, ses_, op_, iv_.data(),
                    static_cast<uint32_t>(iv_.size()), aad_.data(),
                    static_cast<uint32_t>(aad_.size()), src_.data(),
                    static_cast<uint32_t>(src_.size()), dst_.data(), out,
                    tag_len_);
  if (err == EBADMSG && op_ == COP_DECRYPT)
    bad_tag_ = true;
  else if (err)
    Fail(err);
}

Napi::Value AuthCryptWorker::Result(Napi::Env env) {
  if (bad_tag_) return env.Null();
  return Napi::Buffer<uint8_t>::Copy(env, dst_.data(), dst_.size());
}

}  // namespace vcryptodev

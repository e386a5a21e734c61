// The blocking syscalls of a Device, each run on the libuv thread pool by a
// Napi::AsyncWorker that settles a promise back on the JS thread.
#ifndef VCRYPTODEV_BINDING_WORKERS_H
#define VCRYPTODEV_BINDING_WORKERS_H

#include <napi.h>

#include <stdint.h>

#include <string>
#include <vector>

#include "device.h"

namespace vcryptodev {

using Bytes = std::vector<uint8_t>;

// The ioctls themselves, shared by the workers (thread pool) and the inline
// path of Device (JS thread, small requests). Each returns 0 or an errno.
//
// CIOCCRYPT: a cipher session writes len bytes to dst; a hash/HMAC session
// (mac != nullptr) writes the digest to mac.
int DoCrypt(int fd, uint32_t ses, uint16_t op, const uint8_t *iv,
            const uint8_t *src, uint32_t len, uint8_t *dst, uint8_t *mac);
// CIOCAUTHCRYPT on an AEAD session, cryptodev-linux's layout: encrypting,
// dst (out_len = len + tag_len) = ciphertext || tag; decrypting, src =
// ciphertext || tag and dst (out_len = len - tag_len) the plaintext.
// EBADMSG when decrypting: the tag did not verify.
//
// AuthOutLen gives that out_len for src_len bytes of src, or EINVAL when
// src is shorter than the tag (decrypting) or the sum overflows.
int AuthOutLen(uint16_t op, size_t src_len, uint32_t tag_len,
               uint32_t *out_len);
int DoAuthCrypt(int fd, uint32_t ses, uint16_t op, const uint8_t *iv,
                uint32_t iv_len, const uint8_t *aad, uint32_t aad_len,
                const uint8_t *src, uint32_t len, uint8_t *dst,
                uint32_t out_len, uint32_t tag_len);

// Common part: keeps the Device (and its JS object) alive while the request
// runs, counts it in flight, and turns a failed syscall into a typed error.
class DeviceWorker : public Napi::AsyncWorker {
 public:
  Napi::Promise Start();

 protected:
  DeviceWorker(Device *dev, const char *syscall, const char *ioctl_name);

  // From Execute(): record errno and make the worker settle with an error.
  void Fail(int err);
  // The resolved value, built on the JS thread after Execute() succeeded.
  virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }
  // Called on the JS thread once settled, success or not.
  virtual void Done(bool ok) {}

  Device *dev_;
  int fd_;

 private:
  void OnOK() override;
  void OnError(const Napi::Error &e) override;

  Napi::ObjectReference self_;
  Napi::Promise::Deferred deferred_;
  const char *syscall_;
  const char *ioctl_name_;
  int err_ = 0;
};

class OpenWorker : public DeviceWorker {
 public:
  explicit OpenWorker(Device *dev) : DeviceWorker(dev, "open", nullptr) {}

 private:
  void Execute() override;
  void Done(bool ok) override;
  int opened_ = -1;
};

class CloseWorker : public DeviceWorker {
 public:
  explicit CloseWorker(Device *dev) : DeviceWorker(dev, "close", nullptr) {}

 private:
  // The outcome goes to Device::Closed(), which settles every close()
  // promise; this worker's own promise always resolves.
  void Execute() override;
  void Done(bool ok) override;
  int close_err_ = 0;
};

class SessionWorker : public DeviceWorker {
 public:
  SessionWorker(Device *dev, uint32_t cipher, Bytes key, uint32_t mac,
                Bytes mackey)
      : DeviceWorker(dev, "ioctl", "CIOCGSESSION"),
        cipher_(cipher),
        mac_(mac),
        key_(std::move(key)),
        mackey_(std::move(mackey)) {}

 private:
  void Execute() override;
  Napi::Value Result(Napi::Env env) override;
  uint32_t cipher_, mac_;
  Bytes key_, mackey_;
  uint32_t ses_ = 0;
};

class FreeSessionWorker : public DeviceWorker {
 public:
  FreeSessionWorker(Device *dev, uint32_t ses)
      : DeviceWorker(dev, "ioctl", "CIOCFSESSION"), ses_(ses) {}

 private:
  void Execute() override;
  uint32_t ses_;
};

// CIOCCRYPT: a cipher (dst of src's size) or a hash/HMAC (mac_len bytes).
class CryptWorker : public DeviceWorker {
 public:
  CryptWorker(Device *dev, uint32_t ses, uint16_t op, Bytes iv, Bytes src,
              uint32_t mac_len)
      : DeviceWorker(dev, "ioctl", "CIOCCRYPT"),
        ses_(ses),
        op_(op),
        iv_(std::move(iv)),
        src_(std::move(src)),
        mac_(mac_len) {}

 private:
  void Execute() override;
  Napi::Value Result(Napi::Env env) override;
  uint32_t ses_;
  uint16_t op_;
  Bytes iv_, src_, dst_, mac_;
};

// CIOCAUTHCRYPT on an AEAD (AES-GCM) session, cryptodev-linux's layout:
// encrypting, dst = ciphertext || tag; decrypting, src = ciphertext || tag
// and dst the plaintext. A tag that does not verify resolves to null
// (EBADMSG: the driver released nothing); other errors reject.
class AuthCryptWorker : public DeviceWorker {
 public:
  AuthCryptWorker(Device *dev, uint32_t ses, uint16_t op, Bytes iv, Bytes aad,
                  Bytes src, uint32_t tag_len)
      : DeviceWorker(dev, "ioctl", "CIOCAUTHCRYPT"),
        ses_(ses),
        op_(op),
        tag_len_(tag_len),
        iv_(std::move(iv)),
        aad_(std::move(aad)),
        src_(std::move(src)) {}

 private:
  void Execute() override;
  Napi::Value Result(Napi::Env env) override;
  uint32_t ses_;
  uint16_t op_;
  uint32_t tag_len_;
  bool bad_tag_ = false;
  Bytes iv_, aad_, src_, dst_;
};

}  // namespace vcryptodev

#endif  // VCRYPTODEV_BINDING_WORKERS_H

// One open /dev/cryptodevN (or /dev/crypto): the JS class `Device`.
//
// Every operation returns a promise. Opening, sessions and large requests
// run on the libuv thread pool (workers.h), so many can be in flight on one
// descriptor. A CIOCCRYPT/CIOCAUTHCRYPT of at most `inlineMax` bytes (src
// plus AAD; default kDefaultInlineMax) runs on the JS thread, straight from
// the caller's bytes into the result's, and its promise is settled before
// the call returns: under TCG a thread-pool round trip costs 150-300 us in
// the guest, the ioctl of a 256 B request about 25 us, of 16 KiB about 40.
// The state and the in-flight count live on the JS thread only; the
// descriptor is closed once the last in-flight request has completed.
#ifndef VCRYPTODEV_BINDING_DEVICE_H
#define VCRYPTODEV_BINDING_DEVICE_H

#include <napi.h>

#include <stdint.h>

#include <string>
#include <vector>

namespace vcryptodev {

class Device : public Napi::ObjectWrap<Device> {
 public:
  static constexpr uint32_t kDefaultInlineMax = 16384;

  static Napi::Function Init(Napi::Env env);

  explicit Device(const Napi::CallbackInfo &info);
  ~Device() override;

  int fd() const { return fd_; }
  const std::string &path() const { return path_; }

  // Bookkeeping called by workers, on the JS thread.
  void Begin() { inflight_++; }
  void End();
  void Opened(int fd);
  void OpenFailed();
  void Closed(int err);

 private:
  // kClosing: close() was called, requests still in flight;
  // kClosingFd: the close itself is running.
  enum class State { kNew, kOpening, kOpen, kClosing, kClosingFd, kClosed };

  Napi::Value Open(const Napi::CallbackInfo &info);
  Napi::Value CreateSession(const Napi::CallbackInfo &info);
  Napi::Value FreeSession(const Napi::CallbackInfo &info);
  Napi::Value Crypt(const Napi::CallbackInfo &info);
  Napi::Value AuthCrypt(const Napi::CallbackInfo &info);
  Napi::Value Close(const Napi::CallbackInfo &info);
  Napi::Value GetInflight(const Napi::CallbackInfo &info);
  Napi::Value GetPath(const Napi::CallbackInfo &info);

  Napi::Value Settled(Napi::Env env, int err, const char *ioctl_name,
                      Napi::Value value);
  // A promise rejected with EBADF when the device is not open, else null.
  Napi::Value RejectIfNotOpen(Napi::Env env, const char *ioctl_name);
  void MaybeStartClose();

  int fd_ = -1;
  uint32_t inline_max_ = kDefaultInlineMax;
  std::string path_;
  State state_ = State::kNew;
  unsigned inflight_ = 0;
  std::vector<Napi::Promise::Deferred> closers_;
};

}  // namespace vcryptodev

#endif  // VCRYPTODEV_BINDING_DEVICE_H

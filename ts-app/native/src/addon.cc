// The chat's native binding to the cryptodev-linux ioctl ABI
// (include/crypto/cryptodev.h): exports the Device class and the algorithm
// and operation numbers the TypeScript side needs.
#include <napi.h>

#include "cryptodev_abi.h"

#include "device.h"

namespace vcryptodev {

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Device", Device::Init(env));
  Napi::Object c = Napi::Object::New(env);
  c.Set("CRYPTO_AES_CBC", Napi::Number::New(env, CRYPTO_AES_CBC));
  c.Set("CRYPTO_AES_GCM", Napi::Number::New(env, CRYPTO_AES_GCM));
  c.Set("CRYPTO_SHA2_256_HMAC", Napi::Number::New(env, CRYPTO_SHA2_256_HMAC));
  c.Set("COP_ENCRYPT", Napi::Number::New(env, COP_ENCRYPT));
  c.Set("COP_DECRYPT", Napi::Number::New(env, COP_DECRYPT));
  exports.Set("constants", c);
  return exports;
}

}  // namespace vcryptodev

static Napi::Object InitBinding(Napi::Env env, Napi::Object exports) {
  return vcryptodev::Init(env, exports);
}

NODE_API_MODULE(vcryptodev_binding, InitBinding)

#include "errors.h"

#include <string.h>

namespace vcryptodev {

static std::string ErrnoName(int err) {
  const char *name = strerrorname_np(err);
  if (name) return name;
  return "E" + std::to_string(err);
}

Napi::Error MakeSysError(Napi::Env env, int err, const char *syscall,
                         const char *ioctl_name, const std::string &path) {
  std::string code = ErrnoName(err);
  std::string what = syscall;
  if (ioctl_name) what += std::string(" ") + ioctl_name;
  std::string text = strerror(err);
  // Lower case like the messages of Node's own system errors.
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') text[0] = static_cast<char>(text[0] - 'A' + 'a');
  std::string msg = code + ": " + text + ", " + what;
  if (!path.empty()) msg += " '" + path + "'";

  Napi::Error e = Napi::Error::New(env, msg);
  Napi::Object o = e.Value();
  o.Set("code", Napi::String::New(env, code));
  o.Set("errno", Napi::Number::New(env, err));
  o.Set("syscall", Napi::String::New(env, syscall));
  if (ioctl_name) o.Set("ioctl", Napi::String::New(env, ioctl_name));
  if (!path.empty()) o.Set("path", Napi::String::New(env, path));
  return e;
}

}  // namespace vcryptodev

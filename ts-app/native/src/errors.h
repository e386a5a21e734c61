// Typed errors of the binding: a JS Error carrying code, errno, syscall and
// path, the shape of Node's own system errors (errno is positive here, the
// C value, as in os.constants.errno).
#ifndef VCRYPTODEV_BINDING_ERRORS_H
#define VCRYPTODEV_BINDING_ERRORS_H

#include <napi.h>

#include <string>

namespace vcryptodev {

// `ioctl_name` is null for syscalls other than ioctl.
Napi::Error MakeSysError(Napi::Env env, int err, const char *syscall,
                         const char *ioctl_name, const std::string &path);

}  // namespace vcryptodev

#endif  // VCRYPTODEV_BINDING_ERRORS_H

# The chat's native binding to /dev/cryptodevN (cryptodev-linux ioctl ABI).
# Built offline by `lab build binding` (node-gyp against the installed Node
# headers, --nodedir=/usr); loaded by ts-app/src/crypto/cryptodev.ts.
{
  "targets": [
    {
      "target_name": "vcryptodev_binding",
      "sources": [
        "src/addon.cc",
        "src/device.cc",
        "src/errors.cc",
        "src/workers.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "../../include"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc": ["-std=c++17"]
    }
  ]
}

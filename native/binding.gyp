{
  "targets": [
    {
      "target_name": "ccgpu_native",
      "sources": ["src/addon.cc", "src/errors.cc", "src/vsock.cc", "src/fd.cc", "src/process.cc", "src/tee-guest.cc", "src/nvml.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"],
      "libraries": ["-ldl"]
    }
  ]
}

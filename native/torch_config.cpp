// What telescope needs of libtorch's global configuration that tch does not expose: the CPU
// capability ATen dispatches to, the deterministic-algorithms and oneDNN switches, the version of the
// libtorch headers it was built against. Plain C functions over ATen's C++ API.
#include <ATen/Context.h>
#include <ATen/Version.h>
#include <torch/headeronly/version.h>
#include <cstring>
#include <string>

namespace {
// Copies `s` into `buf` (NUL-terminated, cut to `n - 1` bytes); returns the full length.
size_t copy_out(const std::string& s, char* buf, size_t n) {
  if (n > 0) {
    size_t k = s.size() < n - 1 ? s.size() : n - 1;
    std::memcpy(buf, s.data(), k);
    buf[k] = '\0';
  }
  return s.size();
}
}  // namespace

extern "C" {

// ATen's CPU capability ("DEFAULT", "AVX2", "AVX512", ...), as torch.backends.cpu reports it.
// Reading it fixes it for the process: ATEN_CPU_CAPABILITY must be set before the first call.
size_t telescope_cpu_capability(char* buf, size_t n) {
  try {
    return copy_out(at::get_cpu_capability(), buf, n);
  } catch (...) {
    return copy_out("unknown", buf, n);
  }
}

// torch.use_deterministic_algorithms(on): 0 on success, 1 when libtorch refused.
int telescope_set_deterministic(int on) {
  try {
    at::globalContext().setDeterministicAlgorithms(on != 0, false);
    return 0;
  } catch (...) {
    return 1;
  }
}

// torch.backends.mkldnn.enabled = on: 0 on success, 1 when libtorch refused.
int telescope_set_mkldnn(int on) {
  try {
    at::globalContext().setUserEnabledMkldnn(on != 0);
    return 0;
  } catch (...) {
    return 1;
  }
}

// Whether deterministic algorithms are on.
int telescope_deterministic() {
  return at::globalContext().deterministicAlgorithms() ? 1 : 0;
}

// The version of the libtorch this process runs ("2.13.0"), read from its build settings (a
// binary may run against another libtorch than the one it was built with); the headers'
// version when those settings do not say.
size_t telescope_torch_version(char* buf, size_t n) {
  try {
    const std::string config = at::show_config();
    const std::string key = "TORCH_VERSION=";
    size_t at = config.find(key);
    if (at != std::string::npos) {
      size_t start = at + key.size();
      size_t end = config.find_first_of(", \n", start);
      return copy_out(config.substr(start, end - start), buf, n);
    }
  } catch (...) {
  }
  return copy_out(std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) +
                      "." + std::to_string(TORCH_VERSION_PATCH),
                  buf, n);
}

}  // extern "C"

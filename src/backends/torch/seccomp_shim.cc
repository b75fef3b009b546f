// The system-call filter of the native workers as a C function, for the PyTorch bridge worker
// (kforge_torch_bridge.py), which installs it through ctypes once a candidate is loaded.
#include "backends/seccomp_filter.h"

extern "C" int kforge_install_seccomp(int result_fd, int strict) {
  return kf::worker::InstallSeccompFilter(result_fd, strict != 0) ? 0 : -1;
}

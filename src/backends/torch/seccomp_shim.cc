// The system-call filter of the native workers as a C function, for the PyTorch bridge worker
// (kforge_torch_bridge.py), which installs it through ctypes once a candidate is loaded. The bridge
// gets the deny-list profiles: Python and torch make too many calls for the CPU allow-list.
#include "backends/seccomp_filter.h"

extern "C" int kforge_install_seccomp(int result_fd, int strict) {
  const kf::worker::FilterOptions options{
      strict != 0 ? kf::worker::FilterProfile::kDenyStrict : kf::worker::FilterProfile::kDenyList,
      true};
  return kf::worker::InstallSeccompFilter(result_fd, options) ? 0 : -1;
}

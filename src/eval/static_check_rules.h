// The default rules of the static checks (static_check.h) as tables: the identifiers each rule
// forbids, the identifier prefixes and the headers that fire a rule, and the names whose meaning
// depends on their context (the standard library's thread, the string argument of _Pragma).
#pragma once

#include <array>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kf::eval::static_check {

struct Rule {
  std::string_view name;
  std::vector<std::string_view> identifiers;
};

// Every default rule with its identifiers, in the order of StaticRuleNames().
const std::vector<Rule>& Rules();

// The rule each identifier of Rules() fires.
const std::unordered_map<std::string_view, std::string_view>& RuleOfIdentifier();

// Identifiers that fire a rule by their first characters: every cuBLAS, cuDNN, cuFFT, cuSPARSE,
// cuSOLVER and cuTENSOR function, type and constant. (cuRAND's device API, curand_kernel.h, is
// an ordinary kernel building block and stays allowed.)
struct PrefixRule {
  std::string_view prefix;
  std::string_view rule;
};
inline constexpr std::array<PrefixRule, 12> kPrefixRules = {{
    {"cublas", "vendor_libraries"},
    {"cudnn", "vendor_libraries"},
    {"cufft", "vendor_libraries"},
    {"cusparse", "vendor_libraries"},
    {"cusolver", "vendor_libraries"},
    {"cutensor", "vendor_libraries"},
    {"CUBLAS_", "vendor_libraries"},
    {"CUDNN_", "vendor_libraries"},
    {"CUFFT_", "vendor_libraries"},
    {"CUSPARSE_", "vendor_libraries"},
    {"CUSOLVER_", "vendor_libraries"},
    {"CUTENSOR_", "vendor_libraries"},
}};

// Names that are only a thread when they are the standard library's.
inline constexpr std::array<std::string_view, 3> kStdThreadNames = {"thread", "jthread", "async"};

// Attributes and operators whose string argument is code or a symbol name.
inline constexpr std::array<std::string_view, 9> kCodeStringTakers = {
    "_Pragma", "alias",     "__alias__", "weakref",   "__weakref__",
    "ifunc",   "__ifunc__", "symver",    "__symver__"};

struct HeaderRule {
  std::string_view header;
  bool prefix;  // matches every header under this directory, or whose name starts so
  std::string_view rule;
  bool basename = false;  // also matches the last path component: <some/dir/cublas_v2.h>
};

inline constexpr std::array<HeaderRule, 28> kHeaderRules = {{
    {"pthread.h", false, "threads"},
    {"thread", false, "threads"},
    {"threads.h", false, "threads"},
    {"omp.h", false, "threads"},
    {"future", false, "threads"},
    {"time.h", false, "timers"},
    {"ctime", false, "timers"},
    {"sys/time.h", false, "timers"},
    {"sys/times.h", false, "timers"},
    {"chrono", false, "timers"},
    {"sys/socket.h", false, "network"},
    {"sys/un.h", false, "network"},
    {"netinet/", true, "network"},
    {"arpa/inet.h", false, "network"},
    {"netdb.h", false, "network"},
    {"dlfcn.h", false, "memory_protection"},
    {"spawn.h", false, "process"},
    {"wordexp.h", false, "process"},
    {"cublas", true, "vendor_libraries", true},  // cublas.h cublas_v2.h cublasLt.h cublasXt.h
    {"cudnn", true, "vendor_libraries", true},   // cudnn.h and cuDNN 9's cudnn_*.h
    {"cufft", true, "vendor_libraries", true},   // cufft.h cufftXt.h cufftw.h
    {"cusparse", true, "vendor_libraries", true},
    {"cusolver", true, "vendor_libraries", true},  // cusolverDn.h cusolverSp.h ...
    {"cutensor", true, "vendor_libraries", true},
    {"curand.h", false, "vendor_libraries", true},  // the host API; curand_kernel.h is allowed
    {"torch/", true, "vendor_libraries"},
    {"ATen/", true, "vendor_libraries"},
    {"c10/", true, "vendor_libraries"},
}};

}  // namespace kf::eval::static_check

#include "eval/static_check.h"

#include <algorithm>
#include <array>
#include <set>
#include <unordered_map>
#include <utility>

namespace kf::eval {
namespace {

constexpr size_t kMaxLineText = 200;

struct Rule {
  std::string_view name;
  std::vector<std::string_view> identifiers;
};

// The identifier lists go a little beyond the names in the spec where a sibling does the same
// thing (execvpe, open64, wordexp, which runs a shell, pthread_exit, getrusage).
const std::vector<Rule>& Rules() {
  static const std::vector<Rule> kRules = {
      {"process",
       {"fork",   "vfork", "clone",       "clone3",       "__clone", "execl",    "execle",
        "execlp", "execv", "execve",      "execvp",       "execvpe", "execveat", "fexecve",
        "system", "popen", "posix_spawn", "posix_spawnp", "wordexp", "ptrace"}},
      {"exit",
       {"exit", "_exit", "_Exit", "quick_exit", "atexit", "at_quick_exit", "on_exit",
        "pthread_exit", "thrd_exit"}},
      {"threads", {"pthread_create", "thrd_create", "omp"}},
      {"timers",
       {"clock_gettime", "gettimeofday", "clock", "time", "times", "ftime", "timespec_get",
        "getrusage", "rdtsc", "__rdtsc", "__rdtscp", "__builtin_ia32_rdtsc",
        "__builtin_ia32_rdtscp", "__builtin_readcyclecounter", "chrono",
        // CUDA: the device's cycle counters and the host's event timer.
        "clock64", "cudaEventElapsedTime", "cuEventElapsedTime"}},
      {"environment",
       {"getenv", "secure_getenv", "setenv", "putenv", "unsetenv", "clearenv", "environ",
        "__environ"}},
      {"network",
       {"socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "getaddrinfo",
        "gethostbyname", "sendto", "recvfrom", "sendmsg", "recvmsg"}},
      {"files",
       {"fopen",   "fopen64",  "freopen",  "fdopen",    "tmpfile",  "tmpfile64", "open",
        "open64",  "openat",   "openat64", "creat",     "creat64",  "unlink",    "unlinkat",
        "remove",  "rename",   "renameat", "renameat2", "mkdir",    "mkdirat",   "rmdir",
        "mkstemp", "mkostemp", "tmpnam",   "symlink",   "ifstream", "ofstream",  "fstream"}},
      {"asm", {"asm", "__asm__", "__asm"}},
      {"memory_protection",
       {"mprotect", "pkey_mprotect", "PROT_EXEC", "dlopen", "dlmopen", "dlsym", "dlvsym",
        "__libc_dlopen_mode", "__libc_dlsym"}},
      {"signals",
       {"signal", "sigaction", "sigaltstack", "sigprocmask", "pthread_sigmask", "kill", "tgkill",
        "pthread_kill", "alarm", "ualarm", "setitimer"}},
      {"syscall", {"syscall"}},
      // CUDA: what a kernel entry never needs. Streams of its own (work the harness's stream
      // does not order or time), host callbacks (a thread by another name), graphs (launch work
      // later, or capture the harness's launches), and device-wide settings that outlive the
      // call or undo the harness's cold-cache setup (persisting-L2 windows and limits, cache
      // configuration, switching or resetting the device). The driver API's twins too.
      // cudaMemcpyAsync, cudaMemsetAsync and cudaFuncSetAttribute stay allowed.
      {"streams",
       {"cudaStreamCreate",
        "cudaStreamCreateWithFlags",
        "cudaStreamCreateWithPriority",
        "cudaStreamDestroy",
        "cudaStreamSetAttribute",
        "cudaStreamAddCallback",
        "cudaLaunchHostFunc",
        "cudaStreamBeginCapture",
        "cudaStreamEndCapture",
        "cudaGraphInstantiate",
        "cudaGraphInstantiateWithFlags",
        "cudaGraphLaunch",
        "cudaDeviceSetLimit",
        "cudaDeviceSetCacheConfig",
        "cudaDeviceSetSharedMemConfig",
        "cudaCtxResetPersistingL2Cache",
        "cudaAccessPolicyWindow",
        "accessPolicyWindow",
        "cudaAccessPropertyPersisting",
        "cudaLimitPersistingL2CacheSize",
        "cudaStreamAttributeAccessPolicyWindow",
        "cudaLaunchAttributeAccessPolicyWindow",
        "cudaSetDevice",
        "cudaSetDeviceFlags",
        "cudaDeviceReset",
        "cuStreamCreate",
        "cuStreamCreateWithPriority",
        "cuStreamDestroy",
        "cuStreamSetAttribute",
        "cuStreamAddCallback",
        "cuLaunchHostFunc",
        "cuStreamBeginCapture",
        "cuGraphLaunch",
        "cuCtxSetLimit",
        "cuCtxSetCacheConfig",
        "cuCtxResetPersistingL2Cache",
        "cuCtxCreate",
        "cuCtxSetCurrent",
        "cuCtxPushCurrent",
        "cuDevicePrimaryCtxReset"}},
      // Calls into prebuilt vendor kernels or frameworks where the task asks for a hand-written
      // kernel. Identifiers by prefix (kPrefixRules) and headers (kHeaderRules).
      {"vendor_libraries", {}},
  };
  return kRules;
}

// Identifiers that fire a rule by their first characters: every cuBLAS, cuDNN, cuFFT, cuSPARSE,
// cuSOLVER and cuTENSOR function, type and constant. (cuRAND's device API, curand_kernel.h, is
// an ordinary kernel building block and stays allowed.)
struct PrefixRule {
  std::string_view prefix;
  std::string_view rule;
};
constexpr std::array<PrefixRule, 12> kPrefixRules = {{
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

const std::unordered_map<std::string_view, std::string_view>& RuleOfIdentifier() {
  static const auto* kMap = [] {
    auto* map = new std::unordered_map<std::string_view, std::string_view>();
    for (const Rule& rule : Rules()) {
      for (std::string_view id : rule.identifiers) map->emplace(id, rule.name);
    }
    return map;
  }();
  return *kMap;
}

// Names that are only a thread when they are the standard library's.
constexpr std::array<std::string_view, 3> kStdThreadNames = {"thread", "jthread", "async"};

// Attributes and operators whose string argument is code or a symbol name.
constexpr std::array<std::string_view, 9> kCodeStringTakers = {
    "_Pragma", "alias",     "__alias__", "weakref",   "__weakref__",
    "ifunc",   "__ifunc__", "symver",    "__symver__"};

struct HeaderRule {
  std::string_view header;
  bool prefix;  // matches every header under this directory, or whose name starts so
  std::string_view rule;
  bool basename = false;  // also matches the last path component: <some/dir/cublas_v2.h>
};

constexpr std::array<HeaderRule, 28> kHeaderRules = {{
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

template <size_t N>
bool OneOf(std::string_view s, const std::array<std::string_view, N>& list) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

bool IsIdentStart(char c) {
  // '$' is accepted by GCC in identifiers; bytes >= 0x80 are extended characters. Both only
  // make an identifier longer, so treating them as identifier characters avoids false matches.
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

// A forbid entry as a task file may write it: [A-Za-z_][A-Za-z0-9_]*.
bool IsPlainIdentifier(std::string_view s) {
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  return !s.empty() && letter(s[0]) &&
         std::all_of(s.begin(), s.end(), [&](char c) { return letter(c) || IsDigit(c); });
}

// Source text after translation phases 1-2 (trigraphs for C, line splices), with the offset in
// the original source of every character so that lines can be reported as the author sees them.
struct Spliced {
  std::string chars;
  std::vector<size_t> origin;  // origin[i] = source offset of chars[i]; strictly increasing
};

Spliced Splice(std::string_view source, bool trigraphs) {
  Spliced phase1;
  phase1.chars.reserve(source.size());
  phase1.origin.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    char c = source[i];
    if (trigraphs && c == '?' && i + 2 < source.size() && source[i + 1] == '?') {
      static constexpr std::string_view kFrom = "=/'()!<>-", kTo = "#\\^[]|{}~";
      size_t k = kFrom.find(source[i + 2]);
      if (k != std::string_view::npos) {
        phase1.chars.push_back(kTo[k]);
        phase1.origin.push_back(i);
        i += 2;
        continue;
      }
    }
    phase1.chars.push_back(c);
    phase1.origin.push_back(i);
  }
  Spliced out;
  out.chars.reserve(phase1.chars.size());
  out.origin.reserve(phase1.chars.size());
  const std::string& s = phase1.chars;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      // GCC also splices when only whitespace separates the backslash from the newline.
      size_t j = i + 1;
      while (j < s.size() && IsSpace(s[j])) ++j;
      if (j < s.size() && s[j] == '\n') {
        i = j;
        continue;
      }
    }
    out.chars.push_back(s[i]);
    out.origin.push_back(phase1.origin[i]);
  }
  return out;
}

enum class Kind { kIdent, kPunct, kString, kHeader };

struct Token {
  Kind kind;
  std::string text;  // identifier, punctuator, decoded string contents, or header name
  size_t offset;     // in the original source
};

// A lexer just good enough to find identifiers: it skips comments, numbers and literals the way
// the compiler does, so that what it reports as identifiers are the compiler's identifiers.
class Lexer {
 public:
  Lexer(std::string_view source, bool cpp)
      : source_(source), cpp_(cpp), text_(Splice(source, !cpp)) {}

  std::vector<Token> Run() {
    const std::string& s = text_.chars;
    while (i_ < s.size()) {
      char c = s[i_];
      char next = i_ + 1 < s.size() ? s[i_ + 1] : '\0';
      if (c == '\n' || IsSpace(c)) {
        ++i_;
      } else if (c == '/' && next == '/') {
        while (i_ < s.size() && s[i_] != '\n') ++i_;
      } else if (c == '/' && next == '*') {
        size_t end = s.find("*/", i_ + 2);
        i_ = end == std::string::npos ? s.size() : end + 2;
      } else if (IsIdentStart(c)) {
        LexIdentifier();
      } else if (IsDigit(c) || (c == '.' && IsDigit(next))) {
        LexNumber();
      } else if (c == '"' || c == '\'') {
        LexQuoted(i_);
      } else if (c == ':' && next == ':') {
        Emit(Kind::kPunct, "::", i_);
        i_ += 2;
      } else if (c == '%' && next == ':') {  // digraph for '#'
        Emit(Kind::kPunct, "#", i_);
        i_ += 2;
      } else {
        Emit(Kind::kPunct, std::string(1, c), i_);
        ++i_;
      }
    }
    return std::move(tokens_);
  }

 private:
  void Emit(Kind kind, std::string text, size_t index) {
    tokens_.push_back({kind, std::move(text), text_.origin[index]});
  }

  void LexIdentifier() {
    const std::string& s = text_.chars;
    size_t start = i_;
    while (i_ < s.size() && IsIdentChar(s[i_])) ++i_;
    std::string id = s.substr(start, i_ - start);
    char next = i_ < s.size() ? s[i_] : '\0';
    if (next == '"' || next == '\'') {
      if (cpp_ && next == '"' &&
          (id == "R" || id == "LR" || id == "uR" || id == "UR" || id == "u8R")) {
        LexRawString(start);
        return;
      }
      if (id == "L" || id == "u" || id == "U" || id == "u8") {
        LexQuoted(start);
        return;
      }
    }
    bool after_hash =
        !tokens_.empty() && tokens_.back().kind == Kind::kPunct && tokens_.back().text == "#";
    Emit(Kind::kIdent, id, start);
    if (after_hash &&
        (id == "include" || id == "include_next" || id == "import" || id == "embed")) {
      LexHeaderName();
    }
  }

  // A pp-number: digits, letters, dots, exponent signs and (C++) digit separators, so that the
  // "'" in 1'000 does not open a character literal that would hide the rest of the line.
  void LexNumber() {
    const std::string& s = text_.chars;
    size_t start = i_;
    ++i_;
    while (i_ < s.size()) {
      char c = s[i_];
      char prev = s[i_ - 1];
      if (IsIdentChar(c) || c == '.') {
        ++i_;
      } else if ((c == '+' || c == '-') &&
                 (prev == 'e' || prev == 'E' || prev == 'p' || prev == 'P')) {
        ++i_;
      } else if (cpp_ && c == '\'' && i_ + 1 < s.size() && IsIdentChar(s[i_ + 1])) {
        ++i_;
      } else {
        break;
      }
    }
    Emit(Kind::kPunct, "0", start);
  }

  // A string or character literal starting at `start` (its encoding prefix, if any). Literals
  // cannot span lines, so an unterminated one ends at the newline, as the compiler's does.
  void LexQuoted(size_t start) {
    const std::string& s = text_.chars;
    char quote = s[i_++];
    std::string contents;
    while (i_ < s.size() && s[i_] != quote && s[i_] != '\n') {
      if (s[i_] == '\\' && i_ + 1 < s.size() && s[i_ + 1] != '\n') {
        contents.push_back(DecodeEscape());
      } else {
        contents.push_back(s[i_++]);
      }
    }
    if (i_ < s.size() && s[i_] == quote) ++i_;
    if (quote == '"') {
      Emit(Kind::kString, std::move(contents), start);
    } else {
      Emit(Kind::kPunct, "'", start);
    }
  }

  // Decodes the escape at i_ (a backslash) to one byte, so that "\x2fproc/" reads as "/proc/".
  char DecodeEscape() {
    const std::string& s = text_.chars;
    char e = s[i_ + 1];
    i_ += 2;
    auto hex = [](char c) -> int {
      if (IsDigit(c)) return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (e == 'x') {
      unsigned value = 0;
      while (i_ < s.size() && hex(s[i_]) >= 0) value = (value << 4 | hex(s[i_++])) & 0xff;
      return static_cast<char>(value);
    }
    if (e >= '0' && e <= '7') {
      unsigned value = e - '0';
      for (int k = 0; k < 2 && i_ < s.size() && s[i_] >= '0' && s[i_] <= '7'; ++k) {
        value = value * 8 + (s[i_++] - '0');
      }
      return static_cast<char>(value & 0xff);
    }
    if (e == 'u' || e == 'U') {
      // A universal character name never spells ASCII that matters here.
      for (int k = 0; k < (e == 'u' ? 4 : 8) && i_ < s.size() && hex(s[i_]) >= 0; ++k) ++i_;
      return '?';
    }
    switch (e) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case '0':
        return '\0';
      default:
        return e;  // \\ \" \' \? and unknown escapes
    }
  }

  // A C++ raw string. Line splices are not applied inside one, so its end is found in the
  // original source and the lexer resumes at the first character after it.
  void LexRawString(size_t prefix_start) {
    size_t quote = text_.origin[i_];
    size_t open = source_.find('(', quote + 1);
    std::string_view delimiter;
    if (open != std::string_view::npos && open - quote - 1 <= 16) {
      delimiter = source_.substr(quote + 1, open - quote - 1);
    }
    bool valid = open != std::string_view::npos && open - quote - 1 <= 16 &&
                 delimiter.find_first_of(" ()\\\t\v\f\n") == std::string_view::npos;
    if (!valid) {  // not a raw string the compiler would accept; lex it as an ordinary one
      LexQuoted(prefix_start);
      return;
    }
    std::string terminator = ")" + std::string(delimiter) + "\"";
    size_t close = source_.find(terminator, open + 1);
    size_t end = close == std::string_view::npos ? source_.size() : close + terminator.size();
    size_t contents_end = close == std::string_view::npos ? source_.size() : close;
    tokens_.push_back({Kind::kString,
                       std::string(source_.substr(open + 1, contents_end - open - 1)),
                       text_.origin[prefix_start]});
    i_ = std::lower_bound(text_.origin.begin(), text_.origin.end(), end) - text_.origin.begin();
  }

  // After #include and friends: a <header> or "header" name, which is not a string literal.
  void LexHeaderName() {
    const std::string& s = text_.chars;
    while (i_ < s.size()) {
      if (IsSpace(s[i_])) {
        ++i_;
      } else if (s.compare(i_, 2, "/*") == 0) {
        size_t end = s.find("*/", i_ + 2);
        i_ = end == std::string::npos ? s.size() : end + 2;
      } else {
        break;
      }
    }
    if (i_ >= s.size() || (s[i_] != '<' && s[i_] != '"')) return;  // a macro; lexed as code
    char close = s[i_] == '<' ? '>' : '"';
    size_t start = i_++;
    while (i_ < s.size() && s[i_] != close && s[i_] != '\n') ++i_;
    Emit(Kind::kHeader, s.substr(start + 1, i_ - start - 1), start);
    if (i_ < s.size() && s[i_] == close) ++i_;
  }

  std::string_view source_;
  bool cpp_;
  Spliced text_;
  size_t i_ = 0;
  std::vector<Token> tokens_;
};

struct Finding {
  std::string rule;
  std::string identifier;
  size_t offset;
};

// "/proc" as a path component: "/proc/self/maps" or "/proc", not "/process".
bool NamesProc(std::string_view s) {
  for (size_t at = s.find("/proc"); at != std::string_view::npos; at = s.find("/proc", at + 1)) {
    if (at + 5 == s.size() || s[at + 5] == '/') return true;
  }
  return false;
}

bool IsIdent(const Token* t, std::string_view text) {
  return t != nullptr && t->kind == Kind::kIdent && t->text == text;
}
bool IsPunct(const Token* t, std::string_view text) {
  return t != nullptr && t->kind == Kind::kPunct && t->text == text;
}

class Checker {
 public:
  explicit Checker(const StaticPolicy& policy)
      : allowed_(policy.allow.begin(), policy.allow.end()),
        forbidden_(policy.forbid.begin(), policy.forbid.end()) {}

  std::optional<Finding> Check(const std::vector<Token>& tokens) {
    bool std_in_scope = false;  // after `using namespace std`
    int code_string = 0;        // 1: after _Pragma/alias/...; 2: after its '('
    std::string strings;        // adjacent string literals, joined as the compiler does
    size_t strings_offset = 0;
    for (size_t k = 0; k < tokens.size(); ++k) {
      const Token& t = tokens[k];
      const Token* prev = k >= 1 ? &tokens[k - 1] : nullptr;
      const Token* prev2 = k >= 2 ? &tokens[k - 2] : nullptr;
      if (t.kind != Kind::kString && !strings.empty()) {
        if (auto f = CheckStrings(strings, strings_offset)) return f;
        strings.clear();
      }
      switch (t.kind) {
        case Kind::kIdent: {
          bool std_qualified = IsPunct(prev, "::") && IsIdent(prev2, "std");
          if (auto f =
                  CheckIdentifier(t.text, std_qualified || std_in_scope, std_qualified, t.offset)) {
            return f;
          }
          if (t.text == "std" && IsIdent(prev, "namespace") && IsIdent(prev2, "using")) {
            std_in_scope = true;
          }
          code_string = OneOf(t.text, kCodeStringTakers) ? 1 : 0;
          break;
        }
        case Kind::kString:
          if (strings.empty()) strings_offset = t.offset;
          strings += t.text;
          if (code_string == 2) {
            if (auto f = CheckCodeString(t.text, t.offset)) return f;
          }
          break;
        case Kind::kHeader:
          if (auto f = CheckHeader(t.text, t.offset)) return f;
          code_string = 0;
          break;
        case Kind::kPunct:
          code_string = code_string == 1 && t.text == "(" ? 2 : 0;
          break;
      }
    }
    if (!strings.empty()) return CheckStrings(strings, strings_offset);
    return std::nullopt;
  }

 private:
  bool Active(std::string_view rule) const { return !allowed_.contains(std::string(rule)); }

  std::optional<Finding> Fire(std::string_view rule, std::string_view what, size_t offset) const {
    if (!Active(rule)) return std::nullopt;
    return Finding{std::string(rule), std::string(what), offset};
  }

  std::optional<Finding> CheckIdentifier(std::string_view id, bool std_visible, bool std_qualified,
                                         size_t offset) const {
    if (OneOf(id, kStdThreadNames) && std_visible) {
      if (auto f = Fire("threads", std_qualified ? "std::" + std::string(id) : id, offset)) {
        return f;
      }
    }
    auto it = RuleOfIdentifier().find(id);
    bool std_bind = id == "bind" && std_qualified;  // std::bind is not the socket call
    if (it != RuleOfIdentifier().end() && !std_bind) {
      if (auto f = Fire(it->second, id, offset)) return f;
    }
    for (const PrefixRule& p : kPrefixRules) {
      if (id.starts_with(p.prefix)) {
        if (auto f = Fire(p.rule, id, offset)) return f;
      }
    }
    if (forbidden_.contains(std::string(id))) return Finding{"policy", std::string(id), offset};
    return std::nullopt;
  }

  // The argument of _Pragma or of a symbol-naming attribute: its identifiers are code.
  std::optional<Finding> CheckCodeString(std::string_view text, size_t offset) const {
    for (size_t i = 0; i < text.size();) {
      if (IsIdentStart(text[i])) {
        size_t start = i;
        while (i < text.size() && IsIdentChar(text[i])) ++i;
        if (auto f = CheckIdentifier(text.substr(start, i - start), false, false, offset)) {
          return f;
        }
      } else {
        ++i;
      }
    }
    return std::nullopt;
  }

  std::optional<Finding> CheckStrings(std::string_view text, size_t offset) const {
    if (NamesProc(text)) return Fire("memory_protection", "/proc/", offset);
    return std::nullopt;
  }

  std::optional<Finding> CheckHeader(std::string_view header, size_t offset) const {
    size_t first = header.find_first_not_of(" \t");
    size_t last = header.find_last_not_of(" \t");
    header = first == std::string_view::npos ? "" : header.substr(first, last - first + 1);
    const size_t slash = header.find_last_of('/');
    const std::string_view base =
        slash == std::string_view::npos ? header : header.substr(slash + 1);
    for (const HeaderRule& rule : kHeaderRules) {
      auto matches = [&](std::string_view name) {
        return rule.prefix ? name.starts_with(rule.header) : name == rule.header;
      };
      if (matches(header) || (rule.basename && matches(base))) {
        if (auto f = Fire(rule.rule, header, offset)) return f;
      }
    }
    if (NamesProc(header)) {
      if (auto f = Fire("memory_protection", header, offset)) return f;
    }
    if (header.starts_with('/') || header.find("..") != std::string_view::npos) {
      return Fire("files", header, offset);
    }
    return std::nullopt;
  }

  std::set<std::string, std::less<>> allowed_;
  std::set<std::string, std::less<>> forbidden_;
};

// The source line holding `offset`, trimmed and cut to kMaxLineText bytes on a UTF-8 boundary.
std::string LineText(std::string_view source, size_t offset) {
  size_t begin = offset;
  while (begin > 0 && source[begin - 1] != '\n') --begin;
  size_t end = std::min(source.find('\n', offset), source.size());
  std::string_view line = source.substr(begin, end - begin);
  while (!line.empty() && IsSpace(line.front())) line.remove_prefix(1);
  while (!line.empty() && IsSpace(line.back())) line.remove_suffix(1);
  if (line.size() > kMaxLineText) {
    size_t cut = kMaxLineText;
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xc0) == 0x80) --cut;
    line = line.substr(0, cut);
  }
  return std::string(line);
}

}  // namespace

const std::vector<std::string>& StaticRuleNames() {
  static const auto* kNames = [] {
    auto* names = new std::vector<std::string>();
    for (const Rule& rule : Rules()) names->emplace_back(rule.name);
    return names;
  }();
  return *kNames;
}

std::optional<StaticViolation> RunStaticChecks(std::string_view source,
                                               const StaticPolicy& policy) {
  Checker checker(policy);
  std::optional<Finding> first;
  for (bool cpp : {false, true}) {
    std::optional<Finding> found = checker.Check(Lexer(source, cpp).Run());
    if (found && (!first || found->offset < first->offset)) first = std::move(found);
  }
  if (!first) return std::nullopt;
  StaticViolation violation;
  violation.rule = std::move(first->rule);
  violation.identifier = std::move(first->identifier);
  violation.line =
      1 + static_cast<int>(std::count(source.begin(), source.begin() + first->offset, '\n'));
  violation.text = LineText(source, first->offset);
  return violation;
}

Status ValidateStaticPolicy(const StaticPolicy& policy) {
  const std::vector<std::string>& names = StaticRuleNames();
  for (const std::string& rule : policy.allow) {
    if (std::find(names.begin(), names.end(), rule) == names.end()) {
      std::string known;
      for (const std::string& name : names) known += (known.empty() ? "" : ", ") + name;
      return Status::Error("policy.allow: unknown static-check rule '" + rule +
                           "' (known: " + known + ")");
    }
  }
  for (const std::string& id : policy.forbid) {
    if (!IsPlainIdentifier(id)) {
      return Status::Error("policy.forbid: '" + id +
                           "' is not an identifier ([A-Za-z_][A-Za-z0-9_]*)");
    }
  }
  return Status::Ok();
}

}  // namespace kf::eval

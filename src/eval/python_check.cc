#include <cctype>
#include <set>
#include <string>

#include "eval/static_check.h"

namespace kf::eval {
namespace {

const std::set<std::string, std::less<>> kAllowedModules = {
    "torch",    "triton",    "numpy",     "math",        "numbers",
    "typing",   "functools", "itertools", "collections", "dataclasses",
    "operator", "enum",      "abc",       "__future__",  "einops"};

const std::set<std::string, std::less<>> kEscapes = {
    "open",      "exec",      "eval",         "compile",         "__import__", "globals",
    "locals",    "vars",      "breakpoint",   "input",           "exit",       "quit",
    "setattr",   "delattr",   "__builtins__", "__globals__",     "__code__",   "__subclasses__",
    "__dict__",  "__class__", "__bases__",    "__mro__",         "sys",        "os",
    "ctypes",    "time",      "threading",    "multiprocessing", "gc",         "inspect",
    "importlib", "builtins",  "subprocess",   "socket",          "signal",     "shutil",
    "pathlib",   "pickle",    "marshal",      "weakref",         "atexit"};

// Escapes reached as attributes of an allowed module or an object (`torch.os.system`,
// `np.ctypes`, `x.__class__.__subclasses__()`): the modules and the introspection handles of the
// list above. Functions such as `eval`, `compile` or `open` are not here: `model.eval()` and
// `torch.compile` are ordinary.
const std::set<std::string, std::less<>> kAttributeEscapes = {
    "os",          "sys",       "ctypes",          "subprocess", "socket",     "builtins",
    "importlib",   "threading", "multiprocessing", "shutil",     "pathlib",    "pickle",
    "marshal",     "__dict__",  "__class__",       "__bases__",  "__mro__",    "__subclasses__",
    "__globals__", "__code__",  "__builtins__",    "__import__", "__loader__", "__spec__"};

// torch.cuda.Stream(), torch.cuda.stream(s), ExternalStream, streams from another module.
const std::set<std::string, std::less<>> kStreamNames = {"Stream", "stream", "ExternalStream",
                                                         "set_stream"};
// Source with comments and string literals blanked (newlines kept, so offsets and lines hold).
std::string Code(std::string_view src) {
  std::string out(src);
  size_t i = 0;
  while (i < src.size()) {
    const char c = src[i];
    if (c == '#') {
      while (i < src.size() && src[i] != '\n') out[i++] = ' ';
    } else if (c == '"' || c == '\'') {
      const bool triple = src.substr(i, 3) == std::string(3, c);
      const size_t q = triple ? 3 : 1;
      for (size_t k = 0; k < q; ++k) out[i++] = ' ';
      while (i < src.size()) {
        if (src[i] == '\\' && i + 1 < src.size()) {
          out[i] = ' ';
          if (src[i + 1] != '\n') out[i + 1] = ' ';
          i += 2;
          continue;
        }
        if (triple ? src.substr(i, 3) == std::string(3, c) : src[i] == c) {
          for (size_t k = 0; k < q; ++k) out[i++] = ' ';
          break;
        }
        if (!triple && src[i] == '\n') break;
        if (src[i] != '\n') out[i] = ' ';
        ++i;
      }
    } else {
      ++i;
    }
  }
  return out;
}

bool IdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

}  // namespace

std::optional<StaticViolation> RunPythonStaticChecks(std::string_view source) {
  const std::string code = Code(source);
  auto violation = [&](const std::string& rule, const std::string& id, size_t at) {
    StaticViolation v;
    v.rule = rule;
    v.identifier = id;
    size_t begin = at, end = at;
    v.line = 1;
    for (size_t k = 0; k < at; ++k) v.line += source[k] == '\n';
    while (begin > 0 && source[begin - 1] != '\n') --begin;
    while (end < source.size() && source[end] != '\n') ++end;
    std::string text(source.substr(begin, end - begin));
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
      text.erase(0, 1);
    v.text = text.substr(0, 200);
    return v;
  };
  size_t line_start = 0;
  for (size_t i = 0; i <= code.size(); ++i) {
    if (i < code.size() && code[i] != '\n') continue;
    // One logical line: imports.
    std::string line = code.substr(line_start, i - line_start);
    size_t p = line.find_first_not_of(" \t");
    if (p != std::string::npos) {
      const std::string_view l = std::string_view(line).substr(p);
      const bool is_import = l.starts_with("import ") || l.starts_with("from ");
      if (is_import) {
        // Every module named after `import` (comma-separated) or after `from`.
        std::string rest(l.substr(l.find(' ') + 1));
        if (l.starts_with("from ")) rest = rest.substr(0, rest.find(" import"));
        size_t at = 0;
        while (at < rest.size()) {
          while (at < rest.size() && (rest[at] == ' ' || rest[at] == ',' || rest[at] == '(')) ++at;
          size_t end = at;
          while (end < rest.size() && (IdentChar(rest[end]) || rest[end] == '.')) ++end;
          const std::string mod = rest.substr(at, end - at);
          const std::string root = mod.substr(0, mod.find('.'));
          if (!mod.empty() && !kAllowedModules.count(root)) {
            return violation("import", mod, line_start + p);
          }
          // Skip "as NAME" and move to the next comma.
          at = rest.find(',', end);
          if (at == std::string::npos || l.starts_with("from ")) break;
        }
      }
    }
    line_start = i + 1;
  }
  // Names: an escape name used bare (not as an attribute, not inside an import line's module
  // list, which the import rule judged) is refused; so is assigning to torch's attributes.
  for (size_t i = 0; i < code.size();) {
    if (!IdentChar(code[i]) || std::isdigit(static_cast<unsigned char>(code[i]))) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < code.size() && IdentChar(code[end])) ++end;
    const std::string id = code.substr(i, end - i);
    size_t prev = i;
    while (prev > 0 && (code[prev - 1] == ' ' || code[prev - 1] == '\t')) --prev;
    const bool attribute = prev > 0 && code[prev - 1] == '.';
    if (!attribute && kEscapes.count(id)) return violation("escape", id, i);
    if (attribute && kAttributeEscapes.count(id)) return violation("escape", id, i);
    // Rule 18: a stream of its own runs work the harness's stream does not order.
    if (attribute && kStreamNames.count(id)) return violation("streams", id, i);
    if (!attribute && id == "torch") {
      // torch.a.b = ... (but not ==)
      size_t k = end;
      while (k < code.size() && (IdentChar(code[k]) || code[k] == '.')) ++k;
      size_t e = k;
      while (e < code.size() && (code[e] == ' ' || code[e] == '\t')) ++e;
      if (k > end && e < code.size() && code[e] == '=' &&
          (e + 1 >= code.size() || code[e + 1] != '=')) {
        return violation("patch", code.substr(i, k - i), i);
      }
    }
    i = end;
  }
  return std::nullopt;
}

}  // namespace kf::eval

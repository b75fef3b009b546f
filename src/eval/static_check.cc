#include "eval/static_check.h"

#include <algorithm>
#include <array>
#include <set>
#include <unordered_map>
#include <utility>

#include "eval/static_check_lexer.h"
#include "eval/static_check_rules.h"

namespace kf::eval {
namespace {

using static_check::HeaderRule;
using static_check::IsDigit;
using static_check::IsIdentChar;
using static_check::IsIdentStart;
using static_check::IsSpace;
using static_check::kCodeStringTakers;
using static_check::kHeaderRules;
using static_check::Kind;
using static_check::kPrefixRules;
using static_check::kStdThreadNames;
using static_check::PrefixRule;
using static_check::Rule;
using static_check::RuleOfIdentifier;
using static_check::Rules;
using static_check::Token;

constexpr size_t kMaxLineText = 200;

template <size_t N>
bool OneOf(std::string_view s, const std::array<std::string_view, N>& list) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// A forbid entry as a task file may write it: [A-Za-z_][A-Za-z0-9_]*.
bool IsPlainIdentifier(std::string_view s) {
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  return !s.empty() && letter(s[0]) &&
         std::all_of(s.begin(), s.end(), [&](char c) { return letter(c) || IsDigit(c); });
}

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
    std::optional<Finding> found = checker.Check(static_check::Lex(source, cpp));
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

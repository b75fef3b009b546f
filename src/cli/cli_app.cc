#include "cli/cli_app.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace kf::cli {
namespace {

// The evaluation flags' section in a command's help.
constexpr const char* kEvalGroup = "Evaluation options (the same for eval, optimize and bench)";

std::string Got(const std::string& what, const std::string& value) {
  return "expects " + what + ", got '" + value + "'";
}

// `text` as an unsigned integer: digits only (no sign, no space), at most 2^64-1.
std::optional<uint64_t> ParseUnsigned(const std::string& text) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

// `text` as a finite number, the whole of it.
std::optional<double> ParseNumber(const std::string& text) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (*end != '\0' || !std::isfinite(value)) return std::nullopt;
  return value;
}

CLI::Validator IntegerIn(uint64_t min, uint64_t max, const std::string& what) {
  return CLI::Validator(
      [min, max, what](std::string& text) -> std::string {
        const auto value = ParseUnsigned(text);
        return value && *value >= min && *value <= max ? "" : Got(what, text);
      },
      "");
}

CLI::Validator NumberAbove(double min, bool inclusive, const std::string& what) {
  return CLI::Validator(
      [min, inclusive, what](std::string& text) -> std::string {
        const auto value = ParseNumber(text);
        return value && (inclusive ? *value >= min : *value > min) ? "" : Got(what, text);
      },
      "");
}

// Help is wrapped to the 100 columns of kforge's sources and usage text.
constexpr size_t kHelpWidth = 100;

// `text` with each line longer than `width` broken at spaces; shorter lines stay as they are.
std::string Wrap(const std::string& text, size_t width) {
  std::string out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!out.empty()) out += '\n';
    size_t start = 0;
    while (line.size() - start > width) {
      size_t cut = line.rfind(' ', start + width);
      if (cut == std::string::npos || cut <= start) break;
      out += line.substr(start, cut - start) + '\n';
      start = cut + 1;
    }
    out += line.substr(start);
  }
  if (!text.empty() && text.back() == '\n') out += '\n';
  return out;
}

// CLI11's help with the descriptions wrapped.
class WrappingFormatter : public CLI::Formatter {
 public:
  std::string make_description(const CLI::App* app) const override {
    const std::string description = CLI::Formatter::make_description(app);
    return description.empty() ? "" : Wrap(description, kHelpWidth) + "\n";
  }
  std::string make_option_desc(const CLI::Option* option) const override {
    return Wrap(CLI::Formatter::make_option_desc(option), kHelpWidth - get_column_width());
  }
  std::string make_footer(const CLI::App* app) const override {
    return Wrap(CLI::Formatter::make_footer(app), kHelpWidth);
  }
};

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

}  // namespace

int Finish(const ParseStop& stop) {
  std::fputs(stop.text.c_str(), stop.exit_code == 0 ? stdout : stderr);
  return stop.exit_code;
}

std::unique_ptr<CLI::App> NewCommandApp(const std::string& name, const std::string& description) {
  auto app = std::make_unique<CLI::App>(description, "kforge " + name);
  app->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  auto formatter = std::make_shared<WrappingFormatter>();
  formatter->column_width(30);
  app->formatter(formatter);
  return app;
}

ParseStop UsageError(const CLI::App& app, const std::string& message) {
  return {2, app.get_name() + ": " + message + "\n(`" + app.get_name() +
                 " --help` lists the options)\n"};
}

std::optional<ParseStop> ParseArgs(CLI::App* app, const std::vector<std::string>& args) {
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them from the back
  try {
    app->parse(reversed);
  } catch (const CLI::CallForHelp&) {
    return ParseStop{0, app->help()};
  } catch (const CLI::ExtrasError& e) {
    const std::vector<std::string> extras = app->remaining(true);
    if (extras.empty()) return UsageError(*app, e.what());
    const std::string& first = extras[0];
    const bool option = first.size() > 1 && first[0] == '-';
    return UsageError(*app, (option ? "unknown option '" : "unexpected argument '") + first + "'");
  } catch (const CLI::ParseError& e) {
    return UsageError(*app, e.what());
  }
  return std::nullopt;
}

CLI::Validator NonNegativeInteger() { return IntegerIn(0, UINT64_MAX, "a non-negative integer"); }

CLI::Validator PositiveInteger() { return IntegerIn(1, INT_MAX, "a positive integer"); }

CLI::Validator IntegerAtMost(uint64_t max) {
  return IntegerIn(0, max, "an integer from 0 to " + std::to_string(max));
}

CLI::Validator NonNegativeNumber() { return NumberAbove(0, true, "a non-negative number"); }

CLI::Validator PositiveNumber() { return NumberAbove(0, false, "a positive number"); }

CLI::Validator Duration() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const size_t unit_at = text.find_last_not_of("smh") + 1;
        const std::string unit = text.substr(unit_at);
        const auto number = ParseNumber(text.substr(0, unit_at));
        if (!number || *number < 0 || unit.size() > 1) {
          return Got("a duration such as 90s, 30m or 2h", text);
        }
        const double scale = unit == "h" ? 3600 : unit == "m" ? 60 : 1;
        char seconds[32];
        std::snprintf(seconds, sizeof(seconds), "%.17g", *number * scale);
        text = seconds;
        return "";
      },
      "");
}

void AddEvalOptions(CLI::App* app, eval::EvalOptions* options) {
  eval::EvalOptions& o = *options;
  app->add_option("--run-timeout", o.run_timeout_s,
                  "deadline per call of the candidate (default " + Num(o.run_timeout_s) + ")")
      ->type_name("SEC")
      ->check(PositiveNumber())
      ->group(kEvalGroup);
  app->add_option("--compile-timeout", o.compile_timeout_s,
                  "deadline per compile (default " + Num(o.compile_timeout_s) + ")")
      ->type_name("SEC")
      ->check(PositiveNumber())
      ->group(kEvalGroup);
  app->add_option("--timing-seconds", o.timing_seconds,
                  "cap on timed runs per program (default " + Num(o.timing_seconds) + ")")
      ->type_name("SEC")
      ->check(PositiveNumber())
      ->group(kEvalGroup);
  app->add_option_function<double>(
         "--worker-memory",
         [options](const double& mib) {
           const double bytes = std::min(mib * 1024 * 1024, 0x1p60);
           options->worker_memory_bytes = static_cast<unsigned long long>(bytes);
         },
         "address-space limit per worker (default " + std::to_string(o.worker_memory_bytes >> 20) +
             ")")
      ->type_name("MIB")
      ->check(PositiveNumber())
      ->group(kEvalGroup);
  app->add_flag_callback(
         "--no-sandbox", [options] { options->sandbox = false; },
         "run workers without bubblewrap (the system-call filter stays)")
      ->group(kEvalGroup);
  app->add_flag_callback(
         "--no-seccomp", [options] { options->seccomp = false; },
         "run workers without the system-call filter (bubblewrap stays)")
      ->group(kEvalGroup);
  app->add_flag("--ncu", o.ncu, "CUDA: Nsight Compute summary of each correct candidate")
      ->group(kEvalGroup);
}

void AddEvalSeedOption(CLI::App* app, eval::EvalOptions* options) {
  app->add_option_function<uint64_t>(
         "--seed", [options](const uint64_t& seed) { options->seed = seed; },
         "reproduce an evaluation (default: a fresh secret seed)")
      ->type_name("N")
      ->check(NonNegativeInteger());
}

void AddSizeOptions(CLI::App* app, task::Sizes* sizes, std::string* dtype) {
  const CLI::Validator sizes_text(
      [](std::string& text) -> std::string {
        const auto parsed = task::ParseSizesArg(text);
        if (parsed.ok()) return "";
        // Its message names the flag already, and CLI11 puts the flag before it.
        const std::string& message = parsed.status().message();
        return message.rfind("--sizes ", 0) == 0 ? message.substr(8) : message;
      },
      "");
  app->add_option_function<std::string>(
         "--sizes", [sizes](const std::string& text) { *sizes = *task::ParseSizesArg(text); },
         "other sizes: a PyTorch module's integer constants, a task's sizes")
      ->type_name("NAME=VALUE,...")
      ->check(sizes_text);
  app->add_option("--dtype", *dtype, "a PyTorch module and its floating inputs in half precision")
      ->type_name("float16|bfloat16");
}

}  // namespace kf::cli

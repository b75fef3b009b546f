#include "search/suite.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "search/suite_summary.h"
#include "util/files.h"
#include "util/subprocess.h"

namespace kf::search {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kSuiteFile = "suite.json";

// Writes `text` whole through a temporary name, so a reader never sees half of it.
Status WriteWhole(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) return Status::Error("cannot write " + path.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Status::Error("cannot write " + path.string() + ": " + ec.message());
  return Status::Ok();
}

// The last lines a run wrote to its log after `from` bytes, for the suite's record of why it
// failed.
std::string LogTail(const fs::path& log, size_t from) {
  const std::string all = ReadFile(log);
  const std::string text = from < all.size() ? all.substr(from) : std::string();
  std::vector<std::string> lines;
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(at, nl - at);
    // A progress line redrawn in place keeps only its last state.
    if (size_t cr = line.rfind('\r'); cr != std::string::npos) line = line.substr(cr + 1);
    if (!line.empty() && line.rfind("\033[K", 0) == 0) line = line.substr(3);
    if (!line.empty()) lines.push_back(line);
    at = nl + 1;
  }
  std::string out;
  for (size_t i = lines.size() > 3 ? lines.size() - 3 : 0; i < lines.size(); ++i) {
    out += (out.empty() ? "" : "\n") + lines[i];
  }
  return out.size() > 800 ? out.substr(out.size() - 800) : out;
}

// The suite's record (SUITE_DIR/suite.json), shared by the threads that run its problems.
class SuiteRecord {
 public:
  SuiteRecord(fs::path dir, json j) : dir_(std::move(dir)), j_(std::move(j)) {}

  json Problem(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return j_["problems"][i];
  }
  size_t Size() {
    std::lock_guard<std::mutex> lock(mu_);
    return j_["problems"].size();
  }
  Status Set(size_t i, const std::string& state, const std::string& message) {
    std::lock_guard<std::mutex> lock(mu_);
    j_["problems"][i]["state"] = state;
    j_["problems"][i]["message"] = message;
    return WriteWhole(dir_ / kSuiteFile, j_.dump(2) + "\n");
  }
  Status Save() {
    std::lock_guard<std::mutex> lock(mu_);
    return WriteWhole(dir_ / kSuiteFile, j_.dump(2) + "\n");
  }

 private:
  std::mutex mu_;
  fs::path dir_;
  json j_;
};

// The record to run from: a new one, or the one already in the directory with the problems
// given now merged in (a problem recorded before keeps its state).
Result<json> OpenRecord(const SuiteOptions& o) {
  json problems = json::array();
  for (const auto& p : o.problems) {
    problems.push_back({{"name", p.name},
                        {"task", fs::absolute(p.task).lexically_normal().string()},
                        {"start", p.start.empty() ? "" : fs::absolute(p.start).string()},
                        {"state", "pending"},
                        {"message", ""}});
  }
  json record = {{"name", o.name}, {"run_args", o.run_args}, {"problems", problems}};
  const fs::path file = o.dir / kSuiteFile;
  std::error_code ec;
  if (!fs::exists(file, ec)) return record;
  json old = json::parse(ReadFile(file), nullptr, false);
  if (old.is_discarded() || !old.is_object()) return Status::Error(file.string() + ": unreadable");
  if (old.value("run_args", json::array()) != record["run_args"]) {
    return Status::Error(o.dir.string() + " holds a suite run with other flags (" +
                         old.value("run_args", json::array()).dump() +
                         "): give the same flags to go on with it, or choose another --out");
  }
  std::map<std::string, json> before;
  for (const auto& p : old.value("problems", json::array())) before[p.value("name", "")] = p;
  for (auto& p : record["problems"]) {
    auto it = before.find(p["name"].get<std::string>());
    if (it != before.end() && it->second.value("task", "") == p["task"]) {
      p["state"] = it->second.value("state", "pending");
      p["message"] = it->second.value("message", "");
    }
  }
  return record;
}

// Runs the problems of `record`, `jobs` at a time.
class Scheduler {
 public:
  Scheduler(const SuiteOptions& o, SuiteRecord* record) : o_(o), record_(record) {
    for (const auto& d : o.devices) load_[d] = 0;
  }

  void Run(int jobs) {
    std::vector<std::thread> threads;
    for (int t = 0; t < jobs; ++t) threads.emplace_back([this] { Work(); });
    // Ctrl-C reaches the suite alone (each run is a process group of its own): pass it on,
    // so every run stops after its current step and writes its report.
    bool forwarded = false;
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (done_ == jobs) break;
        if (!forwarded && o_.interrupt && o_.interrupt->load()) {
          forwarded = true;
          for (pid_t pid : running_) kill(-pid, SIGTERM);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (auto& t : threads) t.join();
  }

 private:
  void Work() {
    for (;;) {
      size_t i = 0;
      std::string device;
      {
        std::lock_guard<std::mutex> lock(mu_);
        while (next_ < record_->Size() && record_->Problem(next_)["state"] == "finished") {
          ++next_;
        }
        if (next_ >= record_->Size() || (o_.interrupt && o_.interrupt->load())) {
          ++done_;
          return;
        }
        i = next_++;
        // The device running the fewest problems.
        device = o_.devices.front();
        for (const auto& [d, n] : load_) device = n < load_[device] ? d : device;
        ++load_[device];
      }
      RunOne(i, device);
      std::lock_guard<std::mutex> lock(mu_);
      --load_[device];
    }
  }

  std::vector<std::string> Argv(const json& p, const fs::path& run_dir, const std::string& device) {
    std::vector<std::string> argv = {o_.kforge.string(), "optimize"};
    std::error_code ec;
    if (fs::exists(run_dir / "run.sqlite", ec)) {
      argv.insert(argv.end(), {"--resume", run_dir.string()});
    } else {
      argv.insert(argv.end(), {p["task"].get<std::string>(), "--out", run_dir.string()});
      if (!p.value("start", "").empty()) {
        argv.insert(argv.end(), {"--start", p["start"].get<std::string>()});
      }
    }
    argv.insert(argv.end(), o_.run_args.begin(), o_.run_args.end());
    const std::string lock = ".eval" + (device.empty() ? "" : "-" + device) + ".lock";
    argv.insert(argv.end(), {"--eval-lock", (o_.dir / lock).string()});
    return argv;
  }

  void RunOne(size_t i, const std::string& device) {
    const json p = record_->Problem(i);
    const std::string name = p["name"];
    const fs::path run_dir = o_.dir / name;
    std::error_code ec;
    fs::create_directories(run_dir, ec);
    const fs::path log = run_dir / "optimize.log";
    const size_t log_start = fs::exists(log, ec) ? fs::file_size(log, ec) : 0;
    SpawnSpec spec;
    spec.argv = Argv(p, run_dir, device);
    if (!device.empty()) spec.env.push_back("CUDA_VISIBLE_DEVICES=" + device);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    spec.output_fd = fd;
    Say(name + ": started" + (device.empty() ? "" : " on device " + device));
    (void)record_->Set(i, "running", "");
    auto pid = Spawn(spec);
    if (fd >= 0) close(fd);
    if (!pid.ok()) {
      (void)record_->Set(i, "failed", pid.status().message());
      Say(name + ": failed: " + pid.status().message());
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_.push_back(*pid);
    }
    const ExitInfo exit = Reap(*pid);
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_.erase(std::find(running_.begin(), running_.end(), *pid));
    }
    const bool reported = fs::exists(run_dir / "report.json", ec);
    const bool stopped = o_.interrupt && o_.interrupt->load();
    std::string state = "finished", message;
    if (exit.signaled || exit.code != 0 || !reported) {
      state = "failed";
      message = exit.Describe() + ": " + LogTail(log, ec ? 0 : log_start);
    } else if (stopped) {
      state = "interrupted";  // its report is a snapshot; the next run of the suite resumes it
    }
    (void)record_->Set(i, state, message);
    Say(name + ": " + state + (message.empty() ? "" : " (" + message + ")"));
  }

  void Say(const std::string& line) {
    std::lock_guard<std::mutex> lock(say_mu_);
    std::fprintf(stderr, "kforge suite: %s\n", line.c_str());
    std::fflush(stderr);
  }

  const SuiteOptions& o_;
  SuiteRecord* record_;
  std::mutex mu_, say_mu_;
  size_t next_ = 0;
  int done_ = 0;
  std::map<std::string, int> load_;
  std::vector<pid_t> running_;
};

}  // namespace

bool IsSuiteDir(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / kSuiteFile, ec);
}

Result<json> ReadSuite(const fs::path& dir, bool write) {
  const fs::path file = dir / kSuiteFile;
  json record = json::parse(ReadFile(file), nullptr, false);
  if (record.is_discarded() || !record.is_object()) {
    return Status::Error(dir.string() + " is not a kforge suite (no readable suite.json)");
  }
  std::vector<ProblemOutcome> outcomes;
  for (const auto& p : record.value("problems", json::array())) {
    ProblemOutcome o;
    o.name = p.value("name", "");
    o.state = p.value("state", "pending");
    o.message = p.value("message", "");
    o.run_dir = dir / o.name;
    if (Status st = ReadOutcome(&o); !st.ok()) {
      o.message = (o.message.empty() ? "" : o.message + "; ") + st.message();
    }
    outcomes.push_back(std::move(o));
  }
  int attempts = 5;
  for (size_t i = 0; i + 1 < record.value("run_args", json::array()).size(); ++i) {
    if (record["run_args"][i] == "--attempts") {
      attempts = std::atoi(record["run_args"][i + 1].get<std::string>().c_str());
    }
  }
  json summary = SummarizeSuite(record.value("name", dir.filename().string()), outcomes,
                                attempts > 0 ? attempts : 5);
  if (write) {
    if (Status st = WriteWhole(dir / "report.json", summary.dump(2) + "\n"); !st.ok()) return st;
    if (Status st = WriteWhole(dir / "report.md", SuiteMarkdown(summary)); !st.ok()) return st;
  }
  return summary;
}

Result<json> RunSuite(const SuiteOptions& options) {
  SuiteOptions o = options;
  if (o.devices.empty()) o.devices = {""};
  if (o.kforge.empty()) o.kforge = fs::read_symlink("/proc/self/exe");
  std::error_code ec;
  fs::create_directories(o.dir, ec);
  if (ec) return Status::Error("cannot create " + o.dir.string() + ": " + ec.message());
  auto record = OpenRecord(o);
  if (!record.ok()) return record.status();
  SuiteRecord shared(o.dir, *record);
  if (Status st = shared.Save(); !st.ok()) return st;
  const int jobs = o.jobs > 0 ? o.jobs : 2 * static_cast<int>(o.devices.size());
  std::fprintf(stderr, "kforge suite: %zu problems in %s, %d at a time on %zu device(s)\n",
               o.problems.size(), o.dir.c_str(), jobs, o.devices.size());
  Scheduler(o, &shared).Run(jobs);
  auto summary = ReadSuite(o.dir, true);
  if (!summary.ok()) return summary.status();
  return summary;
}

}  // namespace kf::search

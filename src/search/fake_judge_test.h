// Fakes for the strategies' tests: a judge that returns scripted verdicts and times instead of
// compiling and running anything, a model that answers with scripted replies instead of reaching
// a provider, and a fixture that builds a RunContext over both with a run store in a fresh
// directory and the starting program judged.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "llm/ensemble.h"
#include "search/judge.h"
#include "search/run_context.h"
#include "util/files.h"
#include "util/subprocess.h"
#include "util/temp_dir_test.h"

namespace kf::search {

// A correct result `time_ms` long, `speedup` times the baseline's speed, with the speedup's 95%
// interval `ci` (default: 2% either side of the speedup, significant unless the speedup is
// within about 3% of 1).
inline eval::EvalResult FakeOk(double time_ms, double speedup,
                               std::optional<std::pair<double, double>> ci = std::nullopt) {
  eval::EvalResult r;
  r.verdict = eval::Verdict::kOk;
  r.time = eval::TimeStats{};
  r.time->median_ms = time_ms;
  r.time->ci_lo_ms = time_ms * 0.99;
  r.time->ci_hi_ms = time_ms * 1.01;
  r.time->runs = 10;
  r.baseline = eval::TimeStats{};
  r.baseline->median_ms = time_ms * speedup;
  r.baseline->ci_lo_ms = time_ms * speedup * 0.99;
  r.baseline->ci_hi_ms = time_ms * speedup * 1.01;
  r.baseline->runs = 10;
  r.speedup = speedup;
  r.speedup_ci = ci ? *ci : std::pair{speedup * 0.98, speedup * 1.02};
  r.detail["message"] = "judged by the fake judge";
  return r;
}

inline eval::EvalResult FakeVerdict(eval::Verdict verdict, const std::string& message) {
  eval::EvalResult r;
  r.verdict = verdict;
  r.detail["message"] = message;
  return r;
}

// Timing statistics of a median `ms` with a 95% interval `rel` either side.
inline eval::TimeStats FakeTime(double ms, double rel = 0.01) {
  eval::TimeStats t;
  t.median_ms = t.p10_ms = t.p90_ms = t.min_ms = ms;
  t.runs = 20;
  t.ci95_rel = rel;
  t.ci_lo_ms = ms * (1 - rel);
  t.ci_hi_ms = ms * (1 + rel);
  return t;
}

// The fake judge: the verdict on a program is what `script` says for its code (a Status error:
// the program could not be judged at all). Remembers every program it was asked about, in order.
// A final comparison times each program as `compare_script` says (unset: the judge cannot
// compare) against the baseline `baseline_ms`.
class FakeJudge : public Judge {
 public:
  using Script = std::function<Result<eval::EvalResult>(const std::string& code)>;
  using CompareScript = std::function<eval::TimeStats(const std::string& code)>;
  explicit FakeJudge(Script script) : script_(std::move(script)) {}

  Result<eval::Comparison> Compare(const std::vector<std::filesystem::path>& files) override {
    if (!compare_script) return Judge::Compare(files);
    eval::Comparison c;
    c.rounds = 5;
    for (const auto& f : files) {
      compared.push_back(ReadFile(f));
      c.programs.push_back({f.string(), false, compare_script(compared.back()), ""});
    }
    c.programs.push_back({"initial program", true, FakeTime(baseline_ms), ""});
    return c;
  }

  CompareScript compare_script;
  double baseline_ms = 10;
  std::vector<std::string> compared;

  Result<eval::EvalResult> Evaluate(const std::filesystem::path& candidate) override {
    const std::string code = ReadFile(candidate);
    judged.push_back(code);
    Result<eval::EvalResult> r = script_(code);
    if (!r.ok()) return r.status();
    r->candidate = candidate.string();
    return r;
  }

  std::vector<std::string> judged;

 private:
  Script script_;
};

// The fake model: answers every request with the next scripted reply (the last one again once
// they run out) and remembers each request's last message.
class FakeModel : public llm::Provider {
 public:
  FakeModel(llm::ProviderSpec spec, std::vector<std::string> replies)
      : Provider(std::move(spec)), replies_(std::move(replies)) {}

  llm::Completion Complete(const llm::Request& request, const llm::TextSink& sink) override {
    std::lock_guard<std::mutex> lock(mu_);
    prompts.push_back(request.messages.back().content);
    sizes.push_back(request.messages.size());
    llm::Completion c;
    c.reply.text = replies_.empty() ? "" : replies_[std::min(next_++, replies_.size() - 1)];
    c.reply.finish_reason = "stop";
    c.reply.model = "fake";
    c.reply.usage = {100, 100, false};
    if (sink) sink(c.reply.text);
    return c;
  }

  std::vector<std::string> prompts;
  std::vector<size_t> sizes;  // messages per request

 private:
  std::mutex mu_;
  std::vector<std::string> replies_;
  size_t next_ = 0;
};

// A RunContext over a FakeJudge and (given replies) a FakeModel, for a C task on the CPU.
class FakeRunTest : public TempDirTest {
 protected:
  // Opens the store, sets the context up and judges `initial_code` as the starting program.
  void Start(const std::string& initial_code, FakeJudge::Script script,
             std::vector<std::string> replies = {}) {
    ctx_.options.run_dir = dir_;
    auto store = RunStore::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    ctx_.store = std::move(*store);
    ctx_.task.name = "fake_task";
    ctx_.task.backend = backends::BackendKind::kCpu;
    ctx_.task.entry = "kernel";
    ctx_.lang = "c";
    ctx_.extension = ".c";
    auto prompts = LoadPrompts("");
    ASSERT_TRUE(prompts.ok()) << prompts.status().message();
    ctx_.prompts = *prompts;
    auto judge = std::make_unique<FakeJudge>(std::move(script));
    judge_ = judge.get();
    ctx_.judge = std::move(judge);
    if (!replies.empty()) {
      llm::EnsembleConfig config = models_config_;
      llm::ProviderSpec spec;
      spec.kind = "command";
      spec.text = "fake-model";
      config.members.push_back(llm::Member{spec, 1, 4, std::nullopt});
      config.cache = false;
      auto models = llm::Ensemble::Create(config, nullptr, [&](const llm::ProviderSpec& s) {
        auto m = std::make_unique<FakeModel>(s, replies);
        model_ = m.get();
        return m;
      });
      ASSERT_TRUE(models.ok()) << models.status().message();
      ctx_.models = std::move(*models);
    }
    ctx_.start_time = MonotonicSeconds();
    Candidate first;
    first.origin = "initial";
    first.strategy = ctx_.options.strategy;
    auto judged = ctx_.Judge(initial_code, first);
    ASSERT_TRUE(judged.ok()) << judged.status().message();
    ASSERT_EQ(judged->verdict, "ok");
    ctx_.initial = *judged;
    ctx_.best = *judged;
  }

  // The store is closed before its directory is removed.
  void TearDown() override {
    ctx_.store.reset();
    ctx_.models.reset();
    ctx_.judge.reset();
    TempDirTest::TearDown();
  }

  // Every candidate in the store, by id.
  std::vector<Candidate> Stored() {
    std::vector<Candidate> all;
    for (int64_t id = 1;; ++id) {
      auto c = ctx_.store->Get(id);
      EXPECT_TRUE(c.ok());
      if (!c.ok() || !*c) break;
      all.push_back(**c);
    }
    return all;
  }

  RunContext ctx_;
  // The ensemble's settings (budgets) for Start; its one member is the fake model.
  llm::EnsembleConfig models_config_;
  FakeJudge* judge_ = nullptr;
  FakeModel* model_ = nullptr;
};

}  // namespace kf::search

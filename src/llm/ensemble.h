// The models a run may ask, as one: each request picks a member by weight from a seeded
// generator (the same seed gives the same sequence of picks), answers from the response cache
// when it can, waits for the member's concurrency limit, stops at the budget, retries with
// backoff, prices the reply and records every call. Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "llm/call_log.h"
#include "llm/cost.h"
#include "llm/provider.h"
#include "llm/retry.h"
#include "llm/types.h"
#include "util/status.h"

namespace kf::llm {

struct Member {
  ProviderSpec spec;
  double weight = 1;
  int max_concurrency = 4;
  std::optional<Price> price;  // overrides the price table for this member
};

struct EnsembleConfig {
  std::vector<Member> members;
  double budget_usd = 0;      // 0: no limit
  int64_t budget_tokens = 0;  // 0: no limit
  bool cache = true;
  RetryPolicy retry;
  PriceTable prices = PriceTable::Defaults();
  uint64_t seed = 0;
  // Defaults for the requests callers build.
  int max_tokens = 8192;
  std::optional<double> temperature;
  std::string reasoning_effort;
};

// Reads the `llm:` section of a config file (docs/llm.md lists the keys). `specs` from the
// command line replace the file's models (each with weight 1).
Result<EnsembleConfig> LoadEnsembleConfig(const std::filesystem::path& config_file,
                                          const std::vector<std::string>& specs);

class Ensemble {
 public:
  using Factory = std::function<std::unique_ptr<Provider>(const ProviderSpec&)>;
  // `log` may be null (no record, no cache). `factory` defaults to MakeProvider.
  static Result<std::unique_ptr<Ensemble>> Create(EnsembleConfig config,
                                                  std::shared_ptr<CallLog> log,
                                                  Factory factory = {});

  // One request to member `member`, or to one picked by weight when it is -1.
  Completion Complete(const Request& request, const TextSink& sink = {}, int member = -1);
  // The next weighted pick.
  int Pick();

  struct Spend {
    double usd = 0;
    int64_t tokens = 0;
    int64_t requests = 0;  // paid requests that reached a provider
    int64_t cached = 0;    // answered from the cache
    int64_t errors = 0;
  };
  Spend spent() const;
  bool BudgetSpent() const;
  // Counts spending from before this process (a resumed run's recorded calls).
  void AddSpent(double usd, int64_t tokens) {
    std::lock_guard<std::mutex> lock(mu_);
    spend_.usd += usd;
    spend_.tokens += tokens;
  }
  // Cancels waits (for a slot, or before a retry); requests in flight finish their attempt.
  void Stop();

  const EnsembleConfig& config() const { return config_; }
  // Hears of each retry: member spec, the error, the pause before the next attempt.
  void OnRetry(std::function<void(const std::string&, const Error&, double)> f) {
    on_retry_ = std::move(f);
  }

 private:
  struct Slot {
    std::unique_ptr<Provider> provider;
    int in_flight = 0;
  };
  Ensemble(EnsembleConfig config, std::shared_ptr<CallLog> log)
      : config_(std::move(config)), log_(std::move(log)), rng_(config_.seed) {}

  EnsembleConfig config_;
  std::shared_ptr<CallLog> log_;
  std::vector<Slot> slots_;
  mutable std::mutex mu_;
  std::condition_variable slot_free_;
  std::mt19937_64 rng_;  // picks and retry jitter
  Spend spend_;
  std::atomic<bool> stop_{false};
  std::function<void(const std::string&, const Error&, double)> on_retry_;
};

}  // namespace kf::llm

// Retries with exponential backoff and jitter, honouring Retry-After. Only errors worth another
// attempt (Error::retryable) are retried; the rest come back at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <random>

#include "llm/provider.h"
#include "llm/types.h"

namespace kf::llm {

struct RetryPolicy {
  int max_attempts = 6;
  double base_s = 1;  // first pause (before jitter)
  double max_s = 60;  // longest pause; a Retry-After beyond it gives up instead of waiting
};

// The pause before attempt `attempt` + 1 (attempt counts from 1): a uniform draw from
// [d/2, d] where d = min(max_s, base_s * 2^(attempt-1)), then raised to Retry-After if the
// server asked for longer.
double BackoffDelay(int attempt, const RetryPolicy& policy, double retry_after_s,
                    std::mt19937_64& rng);

// Sleeps `seconds` unless `stop` becomes true first; returns false when stopped.
using Sleeper = std::function<bool(double seconds)>;
Sleeper RealSleeper(const std::atomic<bool>* stop);

// Calls provider.Complete until it succeeds, fails for good, or attempts run out. `on_retry`
// hears of each failed attempt that will be retried, with the pause before the next.
Completion CompleteWithRetry(Provider& provider, const Request& request, const TextSink& sink,
                             const RetryPolicy& policy, std::mt19937_64& rng, const Sleeper& sleep,
                             const std::function<void(const Error&, double)>& on_retry = {});

}  // namespace kf::llm

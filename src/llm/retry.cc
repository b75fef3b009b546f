#include "llm/retry.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

namespace kf::llm {

double BackoffDelay(int attempt, const RetryPolicy& policy, double retry_after_s,
                    std::mt19937_64& rng) {
  const double d = std::min(policy.max_s, policy.base_s * std::pow(2.0, std::max(0, attempt - 1)));
  std::uniform_real_distribution<double> jitter(d / 2, d);
  return std::max(jitter(rng), retry_after_s);
}

Sleeper RealSleeper(const std::atomic<bool>* stop) {
  return [stop](double seconds) {
    using Clock = std::chrono::steady_clock;
    const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(seconds));
    while (Clock::now() < end) {
      if (stop && stop->load()) return false;
      const Clock::duration left = end - Clock::now();
      std::this_thread::sleep_for(std::min<Clock::duration>(std::chrono::milliseconds(50), left));
    }
    return !(stop && stop->load());
  };
}

Completion CompleteWithRetry(Provider& provider, const Request& request, const TextSink& sink,
                             const RetryPolicy& policy, std::mt19937_64& rng, const Sleeper& sleep,
                             const std::function<void(const Error&, double)>& on_retry) {
  Completion c;
  for (int attempt = 1;; ++attempt) {
    c = provider.Complete(request, sink);
    c.reply.attempts = attempt;
    if (c.ok() || !c.error->retryable() || attempt >= policy.max_attempts) break;
    if (c.error->retry_after_s > policy.max_s) {
      c.error->message += " (the server asks to wait " +
                          std::to_string(static_cast<int>(c.error->retry_after_s)) +
                          " s, longer than the retry limit of " +
                          std::to_string(static_cast<int>(policy.max_s)) + " s)";
      break;
    }
    const double pause = BackoffDelay(attempt, policy, c.error->retry_after_s, rng);
    if (on_retry) on_retry(*c.error, pause);
    if (!sleep(pause)) {
      c.error =
          Error{Error::Kind::kCancelled, "stopped while waiting to retry: " + c.error->message,
                c.error->http_status, -1};
      break;
    }
  }
  if (!c.ok() && c.reply.attempts > 1) {
    c.error->message += " (after " + std::to_string(c.reply.attempts) + " attempts)";
  }
  return c;
}

}  // namespace kf::llm

#include "eval/worker_slot.h"

#include <thread>

#include "util/subprocess.h"

namespace kf::eval {

WorkerSlot::WorkerSlot(WorkerConfig config, int index)
    : config_(std::move(config)), index_(index) {}

WorkerSlot::~WorkerSlot() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (starter_.joinable()) starter_.join();
  retiring_.reset();
  worker_.reset();
}

void WorkerSlot::StarterLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || want_start_; });
    if (stop_) return;
    want_start_ = false;
    starting_ = true;
    std::unique_ptr<Worker> old = std::move(retiring_);
    lock.unlock();
    // The old worker ends beside the new one's start (each a CUDA context to tear down or make:
    // hundreds of ms): killed now, reaped on a thread of its own. Its arena, wiped once it is
    // reaped, becomes the new worker's: pages already in place spare the next candidate a fault
    // per page (tens of ms per 64 MiB).
    std::optional<Worker::Arena> arena = old ? old->Detach() : std::nullopt;
    std::thread ender([&] {
      old.reset();
      if (arena) Worker::Wipe(*arena);
    });
    auto w = Worker::Start(config_, index_, arena ? arena->fd : -1);
    ender.join();
    if (arena) {
      if (w.ok()) {
        // A worker that cannot map it is no worker: Get starts another.
        if (auto s = (*w)->Adopt(*arena); !s.ok()) w = s;
      } else {
        Worker::Release(*arena);
      }
    }
    lock.lock();
    starting_ = false;
    spare_.emplace(std::move(w));
    cv_.notify_all();
    // The worker lives on after its start: this thread must too, until the slot ends.
  }
}

void WorkerSlot::RetireAndPrestart() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (spare_ || starting_ || want_start_) {
      worker_.reset();
      return;
    }
    retiring_ = std::move(worker_);
    want_start_ = true;
  }
  if (!starter_.joinable()) starter_ = std::thread([this] { StarterLoop(); });
  cv_.notify_all();
}

Result<Worker*> WorkerSlot::Get() {
  if (worker_ && worker_->alive()) return worker_.get();
  worker_.reset();
  ++generation_;
  loads = 0;
  const double t0 = MonotonicSeconds();
  std::optional<Result<std::unique_ptr<Worker>>> spare;
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !starting_ && !want_start_; });
    spare.swap(spare_);
  }
  if (spare && spare->ok() && (**spare)->alive()) {
    worker_ = std::move(**spare);
  } else {
    auto w = Worker::Start(config_, index_);
    if (!w.ok()) {
      start_seconds += MonotonicSeconds() - t0;
      return w.status();
    }
    worker_ = std::move(*w);
  }
  start_seconds += MonotonicSeconds() - t0;
  return worker_.get();
}

}  // namespace kf::eval

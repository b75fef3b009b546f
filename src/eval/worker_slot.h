// A worker that is started on first use and again after it dies or is retired. A slot can start
// its next worker ahead of need (Prestart), on a thread of its own that lives as long as the
// slot: a worker is killed when the thread that started it ends (PR_SET_PDEATHSIG), and a fresh
// worker per candidate (EVAL_PROTOCOL rule 21) should not cost the candidate its start-up time
// (a torch import, a CUDA context). Not thread-safe: one owner; the starter thread is internal.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "eval/worker.h"
#include "util/status.h"

namespace kf::eval {

class WorkerSlot {
 public:
  WorkerSlot(WorkerConfig config, int index);
  ~WorkerSlot();
  WorkerSlot(const WorkerSlot&) = delete;
  WorkerSlot& operator=(const WorkerSlot&) = delete;

  // The running worker; a prestarted one if there is one (waiting for it), else a new one.
  Result<Worker*> Get();
  // Programs loaded into a worker of an older generation must be loaded again.
  int generation() const { return generation_; }
  Worker* current() { return worker_.get(); }
  // Ends the worker; the next Get starts a fresh one.
  void Retire() { worker_.reset(); }
  // Retires the worker and starts the next one in the background: the old one is ended there
  // too, and the new one maps the old one's arena, wiped (Worker::Reclaim), so the next
  // candidate pays for neither.
  void RetireAndPrestart();

  double start_seconds = 0;  // time Get waited for workers to start
  int loads = 0;             // programs loaded into the current worker

 private:
  void StarterLoop();

  WorkerConfig config_;
  int index_;
  std::unique_ptr<Worker> worker_;
  int generation_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  bool want_start_ = false;                               // guarded by mu_
  bool starting_ = false;                                 // guarded by mu_
  bool stop_ = false;                                     // guarded by mu_
  std::optional<Result<std::unique_ptr<Worker>>> spare_;  // guarded by mu_
  std::unique_ptr<Worker> retiring_;                      // guarded by mu_: ended by the starter
  std::thread starter_;
};

}  // namespace kf::eval

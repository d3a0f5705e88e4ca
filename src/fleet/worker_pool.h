// WorkerPool: a few threads for work that must not run on the server's I/O threads (an operator
// login's Argon2id check takes tens of milliseconds and 64 MiB on purpose), with a bounded queue.
// A job that finds the queue full is refused at once instead of waiting: under a flood the
// caller answers "busy" immediately, and the backlog, its memory and its delay stay bounded.
//
// Every job is called exactly once: job(true) on a worker thread, or job(false) when it is
// refused (at once, on the submitting thread) or dropped unrun at destruction. So a job that
// owes someone an answer (a suspended connection) always gives one.
//
// Thread-safe. The destructor refuses what is still queued and waits for running jobs.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ironseal::fleet {

class WorkerPool {
 public:
  using Job = std::move_only_function<void(bool run)>;

  // `threads` >= 1 workers; at most `max_queued` jobs wait for one (running ones not counted).
  // `nice` > 0 lowers the workers' CPU priority (Linux: per-thread nice value, best effort), so
  // under CPU contention the I/O threads come first.
  WorkerPool(int threads, std::size_t max_queued, int nice = 0);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `job` (true) or refuses it (false, after calling job(false)).
  bool submit(Job job);

  std::size_t queued() const;

 private:
  void work();

  const std::size_t max_queued_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace ironseal::fleet

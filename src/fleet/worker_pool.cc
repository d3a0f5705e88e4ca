// A fixed set of worker threads over a bounded queue (worker_pool.h).
#include "fleet/worker_pool.h"

#include <sys/resource.h>
#include <unistd.h>

#include <utility>

namespace ironseal::fleet {

WorkerPool::WorkerPool(int threads, std::size_t max_queued, int nice) : max_queued_(max_queued) {
  for (int i = 0; i < (threads < 1 ? 1 : threads); ++i) {
    threads_.emplace_back([this, nice] {
      // Best effort: without the permission or on another OS the workers keep the normal priority.
      if (nice > 0) (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice);
      work();
    });
  }
}

WorkerPool::~WorkerPool() {
  std::deque<Job> dropped;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  ready_.notify_all();
  for (auto& job : dropped) job(false);
  for (auto& t : threads_) t.join();
}

bool WorkerPool::submit(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_ && queue_.size() < max_queued_) {
      queue_.push_back(std::move(job));
      ready_.notify_one();
      return true;
    }
  }
  job(false);
  return false;
}

std::size_t WorkerPool::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void WorkerPool::work() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job(true);
  }
}

}  // namespace ironseal::fleet

// A small pool of threads that runs model loads, apart from the inference
// workers so that slow downloads and deserialisation never take compute
// threads from models that are already loaded.
//
// `max_concurrent_loads` threads take jobs from one FIFO queue; at most that
// many loads run at once. At most `max_pending` jobs may wait; beyond that
// Submit refuses (the caller answers 503), so a burst of cold models cannot
// queue unbounded work.
//
// Abandoned jobs. A load that overruns its deadline is abandoned by its owner
// (the registry answers its waiters and calls Abandon). Nothing can interrupt
// a thread stuck inside a backend, so the job keeps its thread until it
// returns; Abandon stops counting that thread as one of the pool's and starts
// a replacement, so other loads keep going. At most
// `max_replacement_threads` replacements run at once (the pool then has at
// most max_concurrent_loads + max_replacement_threads threads); past the cap
// the pool runs short-handed until a stuck job returns. A thread whose
// abandoned job returns exits if the pool has its full complement, and takes
// the next job otherwise.
//
// Shutdown runs the queued jobs and joins every thread, except threads still
// stuck in abandoned jobs: those cannot be joined, and are detached with a
// warning. A detached thread still owns its job, whose captures (a registry,
// a store, a backend) are about to be destroyed: when has_stuck_threads() is
// true after Shutdown, the process must end without running those
// destructors (app/main.cc exits with std::_Exit). The pool's own state is
// shared with its threads, so a detached thread never touches freed pool
// memory.
//
// Thread-safe. An exception escaping a job is logged and dropped.
// REQUIRES: Shutdown() and the destructor are not called from inside a job.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <thread>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"

namespace modelmux {

class LoadPool {
 public:
  struct Options {
    int max_concurrent_loads = 2;  // threads; >= 1, smaller values are raised to 1
    int max_pending = 256;         // queued jobs not yet started; >= 1, likewise
    // Replacement threads for threads stuck in abandoned jobs, at most this
    // many at once; < 0: as many as max_concurrent_loads.
    int max_replacement_threads = -1;
  };

  using Job = absl::AnyInvocable<void() &&>;
  using JobId = uint64_t;  // never 0

  explicit LoadPool(const Options& options);
  // Shutdown().
  ~LoadPool();
  LoadPool(const LoadPool&) = delete;
  LoadPool& operator=(const LoadPool&) = delete;

  // Queues `job` behind earlier ones; `*id` (when given) names it for
  // Abandon. Unavailable when `max_pending` jobs are already waiting or after
  // Shutdown; InvalidArgument when `job` is empty. On error the job is
  // dropped without running.
  absl::Status Submit(Job job, JobId* id = nullptr);

  // Gives up waiting for job `id` (see the header comment). True when it was
  // running (its thread is now stuck until it returns); false when it has
  // finished, was abandoned already, or has not started (it then runs in its
  // turn: its owner sees it was abandoned and returns at once).
  bool Abandon(JobId id);

  // Stops taking new jobs, runs the queued ones, joins the threads; threads
  // stuck in abandoned jobs are detached (logged). Idempotent.
  void Shutdown();

  // Jobs waiting to start.
  int64_t pending() const;
  // Jobs running now, abandoned ones included.
  int active() const;
  // Threads running abandoned jobs now.
  int stuck_threads() const;
  bool has_stuck_threads() const { return stuck_threads() > 0; }
  // Threads alive now (stuck ones included).
  int threads() const;

  struct State;  // load_pool.cc; shared with the threads

 private:
  // Starts one worker. REQUIRES: the state lock is held.
  void SpawnLocked();
  // Joins the threads that have exited. REQUIRES: the state lock is held.
  void ReapLocked();

  const std::shared_ptr<State> state_;
  // Guarded by the state's lock; a worker never touches it.
  std::map<uint64_t, std::thread> threads_;
};

}  // namespace modelmux

// jemalloc's options for the server binary, which links jemalloc (see
// CMakeLists.txt). jemalloc reads this documented global at start-up;
// MALLOC_CONF in the environment is applied after it and can override it.
//
// oversize_threshold:0. By default jemalloc serves allocations of 8 MiB and
// more from an arena of their own that gives freed pages back to the kernel
// at once. A model's largest tensors are such allocations (the demo model's
// embedding is 8 MiB), so after an eviction every cold load faulted in and
// zeroed fresh pages instead of reusing the evicted model's: bench/cold-start.sh
// measured loads of 10.6-11.0 ms with a budget that makes each load evict,
// 4.1 ms without the separate arena. Now freed model memory stays with the
// process for jemalloc's usual decay time (dirty_decay_ms, 10 s), long
// enough for the next cold load to take it, then goes back to the kernel.
extern "C" {
// NOLINTNEXTLINE: the name and type are jemalloc's.
const char* malloc_conf = "oversize_threshold:0";
}

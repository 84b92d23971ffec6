// S3ObjectStream: one located S3 object as a ByteStream (store/archive.h),
// fetched in parts by parallel ranged GETs and handed out in order while the
// parts arrive, so that an archive is unpacked as it downloads.
//
// The object is cut into parts of `part_size` bytes. Up to `parallel_parts`
// threads fetch them, each part with one S3Client::Read into a buffer of its
// own: a part whose transfer fails is resumed from where it stopped (If-Match
// on the located ETag), never the whole object. Next() hands out each part's
// bytes as they arrive, in order. A part's buffer is freed once the reader
// and the checksum have passed it, and no part starts before that leaves
// room, so at most `parallel_parts` part buffers exist at once. An object no
// larger than one part is one plain GET.
//
// The object is checked as a whole: every answer must carry the located
// ETag and size (Content-Range), the parts' bytes add up to that size, and,
// when the ETag is a plain MD5 (a single-part upload), the MD5 of all the
// bytes must equal it. A multipart upload's ETag ("<hex>-N", the MD5 of the
// parts' MD5s) cannot be checked without the part sizes used at upload, so
// there only the size and the ETag of every answer vouch for the bytes. The
// MD5 is computed by the part threads, in order, as bytes arrive, off the
// reader's thread. Finish() reads what Next() has not and returns DataLoss
// when the MD5 does not match.
//
// Stopping: every part honours the call's deadline; the call's cancellation
// is noticed by Next() and Finish() (which then stop the parts), and a
// failed part stops the others. Destroying the stream stops and joins its
// threads.
//
// Thread-safe in the sense that the part threads and the one reader (Next,
// Finish, the destructor) may run at once; one reader only.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/call_context.h"
#include "store/archive.h"
#include "store/s3/s3_client.h"

namespace modelmux {

class S3ObjectStream : public ByteStream {
 public:
  struct Options {
    int64_t part_size = int64_t{8} << 20;  // >= 1
    int parallel_parts = 4;                // >= 1
  };

  // Starts fetching `object` (key, size and ETag as located). REQUIRES:
  // `client` outlives the stream. Internal when no thread can be started.
  static absl::StatusOr<std::unique_ptr<S3ObjectStream>> Open(const S3Client* client, S3Object object,
                                                              const Options& options,
                                                              const CallContext& call);
  ~S3ObjectStream() override;
  S3ObjectStream(const S3ObjectStream&) = delete;
  S3ObjectStream& operator=(const S3ObjectStream&) = delete;

  // The next bytes in order (valid until the next call); empty at the end.
  // Errors: a part's (S3Client::Read), DataLoss for an answer of the wrong
  // size, the call's error when it stopped.
  absl::StatusOr<std::string_view> Next() override;

  // Reads the rest, then checks the whole object (see above).
  absl::Status Finish();

  // True when Finish found the bytes' MD5 different from the ETag: the
  // transfer, not the object, is to blame, and a fresh download may succeed.
  bool checksum_mismatch() const { return checksum_mismatch_; }

 private:
  struct Part {
    int64_t offset = 0;
    int64_t length = 0;
    std::unique_ptr<char[]> data;
    int64_t filled = 0;
  };

  S3ObjectStream(const S3Client* client, S3Object object, const Options& options, const CallContext& call);
  void JoinThreads();
  void Work();
  absl::Status FetchPart(size_t index);
  bool Append(size_t index, std::string_view bytes);
  void Fail(absl::Status error);
  void StopLocked(const absl::Status& reason) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Frees the buffers of parts both the reader and the checksum have passed.
  void ReleasePassedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  size_t WindowStartLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Hashes the bytes received in order so far; `wait`: until the last byte.
  void AdvanceHash();
  void HashAvailable();
  absl::Status StoppedError();

  const S3Client* const client_;
  const S3Object object_;
  const Options options_;
  const CallContext caller_;
  // The parts' context: the caller's deadline, and a cancellation of our own
  // (set when the caller's is, when a part fails, and on destruction).
  const std::shared_ptr<Cancellation> stop_;
  const CallContext parts_call_;
  const bool check_md5_;
  const bool single_part_;

  std::mutex mu_;
  std::condition_variable data_arrived_;  // the reader waits for bytes
  std::condition_variable room_freed_;    // part threads wait for the window
  std::vector<Part> parts_ ABSL_GUARDED_BY(mu_);
  size_t next_part_ ABSL_GUARDED_BY(mu_) = 0;  // the next part to fetch
  size_t read_part_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t read_pos_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t handed_out_ ABSL_GUARDED_BY(mu_) = 0;  // bytes of the last Next() still in use
  size_t hash_part_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t hash_pos_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status error_ ABSL_GUARDED_BY(mu_);

  // One thread hashes at a time; the others leave a note (AdvanceHash).
  std::mutex hash_mu_;
  std::atomic<bool> hash_wanted_{false};
  bool checksum_mismatch_ = false;
  struct Md5;
  std::unique_ptr<Md5> md5_;

  std::vector<std::thread> threads_;
};

}  // namespace modelmux

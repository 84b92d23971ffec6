#include "store/s3/s3_object_stream.h"

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "store/s3/s3_wire.h"

namespace modelmux {

struct S3ObjectStream::Md5 {
  Md5() : ctx(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx, EVP_md5(), nullptr); }
  ~Md5() { EVP_MD_CTX_free(ctx); }
  EVP_MD_CTX* ctx;
};

S3ObjectStream::S3ObjectStream(const S3Client* client, S3Object object, const Options& options,
                               const CallContext& call)
    : client_(client),
      object_(std::move(object)),
      options_{std::max<int64_t>(1, options.part_size), std::max(1, options.parallel_parts)},
      caller_(call),
      stop_(std::make_shared<Cancellation>()),
      parts_call_{call.deadline, stop_},
      check_md5_(s3_internal::IsMd5Etag(object_.etag)),
      single_part_(object_.size <= options_.part_size) {
  if (check_md5_) md5_ = std::make_unique<Md5>();
  std::lock_guard<std::mutex> lock(mu_);
  for (int64_t offset = 0; offset < object_.size; offset += options_.part_size) {
    parts_.push_back(Part{offset, std::min(options_.part_size, object_.size - offset), nullptr, 0});
  }
  if (parts_.empty()) parts_.push_back(Part{0, 0, nullptr, 0});  // an empty object is still one GET
}

absl::StatusOr<std::unique_ptr<S3ObjectStream>> S3ObjectStream::Open(const S3Client* client, S3Object object,
                                                                     const Options& options,
                                                                     const CallContext& call) {
  std::unique_ptr<S3ObjectStream> stream(new S3ObjectStream(client, std::move(object), options, call));
  const size_t threads =
      std::min(static_cast<size_t>(stream->options_.parallel_parts), stream->parts_.size());
  try {
    for (size_t i = 0; i < threads; ++i) stream->threads_.emplace_back([s = stream.get()] { s->Work(); });
  } catch (const std::system_error& e) {
    return absl::InternalError(
        absl::StrCat("cannot start a download thread: ", e.what()));  // joins the others
  }
  return stream;
}

S3ObjectStream::~S3ObjectStream() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    StopLocked(absl::CancelledError("download no longer wanted"));
  }
  JoinThreads();
}

void S3ObjectStream::JoinThreads() {
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

void S3ObjectStream::StopLocked(const absl::Status& reason) {
  if (stopped_) return;
  stopped_ = true;
  stop_->Cancel(reason);  // aborts the transfers in progress (S3Client's progress callback)
  data_arrived_.notify_all();
  room_freed_.notify_all();
}

void S3ObjectStream::Fail(absl::Status error) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return;  // the first failure is the cause; the others follow from it
  error_ = std::move(error);
  StopLocked(error_);
}

size_t S3ObjectStream::WindowStartLocked() const {
  return check_md5_ ? std::min(read_part_, hash_part_) : read_part_;
}

void S3ObjectStream::ReleasePassedLocked() {
  const size_t start = WindowStartLocked();
  for (size_t i = 0; i < start && i < parts_.size(); ++i) parts_[i].data.reset();
  room_freed_.notify_all();
}

void S3ObjectStream::Work() {
  for (;;) {
    size_t index;
    {
      std::unique_lock<std::mutex> lock(mu_);
      room_freed_.wait(lock, [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return stopped_ || next_part_ >= parts_.size() ||
               next_part_ < WindowStartLocked() + static_cast<size_t>(options_.parallel_parts);
      });
      if (stopped_ || next_part_ >= parts_.size()) return;
      index = next_part_++;
      parts_[index].data = std::make_unique_for_overwrite<char[]>(static_cast<size_t>(parts_[index].length));
    }
    absl::Status fetched = FetchPart(index);
    if (!fetched.ok()) {
      Fail(std::move(fetched));
      return;
    }
  }
}

absl::Status S3ObjectStream::FetchPart(size_t index) {
  int64_t offset, length;
  {
    std::lock_guard<std::mutex> lock(mu_);
    offset = parts_[index].offset;
    length = parts_[index].length;
  }
  // One part: a plain GET of the whole object, as any client would send.
  S3Client::ByteSink sink = [this, index](std::string_view bytes) { return Append(index, bytes); };
  absl::StatusOr<S3Object> got =
      client_->Read(object_.key, offset, single_part_ ? -1 : length, object_.etag, sink, parts_call_);
  if (!got.ok()) return got.status();
  std::lock_guard<std::mutex> lock(mu_);
  if (got->size != object_.size || parts_[index].filled != length) {
    return absl::DataLossError(absl::StrCat("download of ", client_->Describe(object_.key), " is ", got->size,
                                            " bytes, where ", object_.size, " were located"));
  }
  return absl::OkStatus();
}

bool S3ObjectStream::Append(size_t index, std::string_view bytes) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Part& part = parts_[index];
    if (stopped_) return false;
    if (static_cast<int64_t>(bytes.size()) > part.length - part.filled) {
      error_ = absl::DataLossError(absl::StrCat("download of ", client_->Describe(object_.key),
                                                " is larger than the ", object_.size, " bytes located"));
      StopLocked(error_);
      return false;
    }
    // The region written is beyond what the reader and the hasher look at.
    std::memcpy(part.data.get() + part.filled, bytes.data(), bytes.size());
    part.filled += static_cast<int64_t>(bytes.size());
  }
  data_arrived_.notify_all();
  AdvanceHash();
  return true;
}

void S3ObjectStream::AdvanceHash() {
  if (!check_md5_) return;
  hash_wanted_.store(true);
  // Whoever holds the lock hashes everything available, then looks for a
  // note left meanwhile, so no arrival goes unhashed.
  while (hash_wanted_.load()) {
    std::unique_lock<std::mutex> hashing(hash_mu_, std::try_to_lock);
    if (!hashing.owns_lock()) return;
    hash_wanted_.store(false);
    HashAvailable();
  }
}

void S3ObjectStream::HashAvailable() {
  for (;;) {
    const char* data = nullptr;
    size_t size = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (hash_part_ >= parts_.size()) return;
      const Part& part = parts_[hash_part_];
      if (hash_pos_ == part.length) {
        ++hash_part_;
        hash_pos_ = 0;
        ReleasePassedLocked();
        continue;
      }
      if (part.filled == hash_pos_) return;
      data = part.data.get() + hash_pos_;
      size = static_cast<size_t>(part.filled - hash_pos_);
    }
    EVP_DigestUpdate(md5_->ctx, data, size);  // not freed: the hash has not passed it
    std::lock_guard<std::mutex> lock(mu_);
    hash_pos_ += static_cast<int64_t>(size);
  }
}

absl::Status S3ObjectStream::StoppedError() {
  absl::Status status = caller_.Check(absl::StrCat("downloading ", client_->Describe(object_.key)));
  std::lock_guard<std::mutex> lock(mu_);
  StopLocked(status);
  return status;
}

absl::StatusOr<std::string_view> S3ObjectStream::Next() {
  constexpr std::chrono::milliseconds kPoll{50};  // the caller's cancellation has no wake-up of its own
  std::unique_lock<std::mutex> lock(mu_);
  read_pos_ += handed_out_;
  handed_out_ = 0;
  for (;;) {
    if (!error_.ok()) return UnsharedCopy(error_);
    if (read_part_ >= parts_.size()) return std::string_view();
    Part& part = parts_[read_part_];
    if (read_pos_ == part.length) {
      ++read_part_;
      read_pos_ = 0;
      ReleasePassedLocked();
      continue;
    }
    if (part.filled > read_pos_) {
      handed_out_ = part.filled - read_pos_;
      return std::string_view(part.data.get() + read_pos_, static_cast<size_t>(handed_out_));
    }
    if (caller_.Stopped() || stopped_) {
      lock.unlock();
      return StoppedError();
    }
    data_arrived_.wait_until(lock, std::min(caller_.deadline.when(), Deadline::Clock::now() + kPoll));
  }
}

absl::Status S3ObjectStream::Finish() {
  for (;;) {
    ASSIGN_OR_RETURN(const std::string_view block, Next());
    if (block.empty()) break;
  }
  // Every byte has arrived; the part threads finish their last checks (sizes).
  JoinThreads();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error_.ok()) return UnsharedCopy(error_);
  }
  if (!check_md5_) return absl::OkStatus();
  std::lock_guard<std::mutex> hashing(hash_mu_);
  HashAvailable();  // reaches the end: every byte is here
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(md5_->ctx, digest, &length);
  const std::string md5 = s3_internal::HexString(digest, length);
  if (md5 == absl::AsciiStrToLower(object_.etag)) return absl::OkStatus();
  checksum_mismatch_ = true;
  return absl::DataLossError(absl::StrCat("download of ", client_->Describe(object_.key), " is corrupt: MD5 ",
                                          md5, ", ETag ", object_.etag));
}

}  // namespace modelmux

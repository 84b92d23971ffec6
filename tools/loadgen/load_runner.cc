#include "loadgen/load_runner.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <optional>

#include "absl/strings/str_cat.h"
#include "loadgen/response_parser.h"

namespace modelmux::loadgen {
namespace {

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

struct Connection {
  int fd = -1;
  bool connected = false;
  bool busy = false;
  bool dead = false;
  bool writing = false;  // EPOLLOUT registered
  const std::string* out = nullptr;
  size_t sent = 0;
  std::string in;
  int64_t start_ns = 0;
  bool measured = false;
};

class LoadLoop {
 public:
  LoadLoop(const RunOptions& options, const std::vector<std::string>& requests, ModelPicker& picker,
           ArrivalSchedule* schedule)
      : options_(options),
        requests_(requests),
        picker_(picker),
        schedule_(schedule),
        conns_(options.connections) {}
  ~LoadLoop() {
    for (Connection& c : conns_)
      if (c.fd >= 0) close(c.fd);
    if (epoll_ >= 0) close(epoll_);
  }

  absl::StatusOr<RunResult> Run();

 private:
  absl::Status Resolve();
  bool Connect(int index);
  void Drop(int index, const char* reason);
  void Send(int index, int64_t model, int64_t start_ns);
  void Flush(int index);
  void Watch(int index, bool write);
  void OnEvent(int index, uint32_t events);
  void OnReadable(int index);
  void Dispatch(int64_t now);
  void TakeArrivals(int64_t now);
  int64_t WaitNs(int64_t now) const;
  bool Stopping(int64_t now) const;

  const RunOptions& options_;
  const std::vector<std::string>& requests_;
  ModelPicker& picker_;
  ArrivalSchedule* schedule_;
  std::vector<Connection> conns_;
  sockaddr_storage address_{};
  socklen_t address_len_ = 0;
  int epoll_ = -1;
  std::vector<int> idle_;
  std::deque<Arrival> pending_;
  std::optional<Arrival> next_;
  int64_t t0_ = 0, warm_end_ = 0, end_ = 0;
  int64_t issued_ = 0, in_flight_ = 0, last_done_ = 0;
  RunResult result_;
};

absl::Status LoadLoop::Resolve() {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = absl::StrCat(options_.port);
  if (const int rc = getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return absl::InvalidArgumentError(absl::StrCat("cannot resolve ", options_.host, ": ", gai_strerror(rc)));
  }
  std::memcpy(&address_, found->ai_addr, found->ai_addrlen);
  address_len_ = found->ai_addrlen;
  freeaddrinfo(found);
  return absl::OkStatus();
}

bool LoadLoop::Connect(int index) {
  Connection& c = conns_[index];
  c = Connection{};
  c.fd = socket(address_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) return false;
  const int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(c.fd, reinterpret_cast<sockaddr*>(&address_), address_len_) != 0 && errno != EINPROGRESS) {
    close(c.fd);
    c.fd = -1;
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.u32 = static_cast<uint32_t>(index);
  epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev);
  c.writing = true;
  return true;
}

// Closes a connection; a request in flight on it fails with `reason`. The
// connection is reopened (keep-alive servers may close idle ones).
void LoadLoop::Drop(int index, const char* reason) {
  Connection& c = conns_[index];
  if (c.busy) {
    --in_flight_;
    if (c.measured) ++result_.errors[reason];
  }
  if (c.fd >= 0) close(c.fd);
  c.fd = -1;
  // A connection that never came up is not retried: the server is not there.
  const bool was_connected = c.connected;
  if (!was_connected) ++result_.errors["connect"];
  if (!was_connected || !Connect(index)) {
    conns_[index] = Connection{};
    conns_[index].dead = true;
  }
}

void LoadLoop::Watch(int index, bool write) {
  Connection& c = conns_[index];
  if (c.writing == write) return;
  epoll_event ev{};
  ev.events = write ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
  ev.data.u32 = static_cast<uint32_t>(index);
  epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
  c.writing = write;
}

void LoadLoop::Send(int index, int64_t model, int64_t start_ns) {
  Connection& c = conns_[index];
  c.busy = true;
  c.out = &requests_[model];
  c.sent = 0;
  c.start_ns = start_ns;
  c.measured = start_ns >= warm_end_;
  ++in_flight_;
  ++issued_;
  Flush(index);
}

void LoadLoop::Flush(int index) {
  Connection& c = conns_[index];
  while (c.sent < c.out->size()) {
    const ssize_t n = send(c.fd, c.out->data() + c.sent, c.out->size() - c.sent, MSG_NOSIGNAL);
    if (n > 0) {
      c.sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      Watch(index, true);
      return;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      Drop(index, "closed");
      return;
    }
  }
  Watch(index, false);
}

void LoadLoop::OnReadable(int index) {
  Connection& c = conns_[index];
  char buffer[65536];
  const ssize_t n = recv(c.fd, buffer, sizeof buffer, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return Drop(index, "closed");
  if (n < 0) return;
  c.in.append(buffer, static_cast<size_t>(n));
  const ParsedResponse r = ParseResponse(c.in);
  if (r.outcome == ParsedResponse::Outcome::kIncomplete) return;
  if (r.outcome == ParsedResponse::Outcome::kMalformed || !c.busy) return Drop(index, "malformed");
  const int64_t now = NowNs();
  c.in.erase(0, r.length);
  c.busy = false;
  --in_flight_;
  if (c.measured) {
    ++result_.completed;
    result_.latency_ns.Record(now - c.start_ns);
    if (r.status >= 200 && r.status < 300) {
      ++result_.ok;
    } else {
      ++result_.errors[absl::StrCat(r.status)];
    }
    last_done_ = now;
  }
  if (r.closes) return Drop(index, "closed");
  idle_.push_back(index);
}

void LoadLoop::OnEvent(int index, uint32_t events) {
  Connection& c = conns_[index];
  if (c.fd < 0) return;
  if (!c.connected && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    int error = 0;
    socklen_t len = sizeof error;
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0) return Drop(index, "connect");
    c.connected = true;
    Watch(index, false);
    idle_.push_back(index);
    return;
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) OnReadable(index);
  if (conns_[index].fd >= 0 && conns_[index].busy && (events & EPOLLOUT)) Flush(index);
}

// True once no request will be added: the end has passed, the request limit
// is reached or the schedule is exhausted.
bool LoadLoop::Stopping(int64_t now) const {
  if (now >= end_) return true;
  if (options_.max_requests > 0 && issued_ + static_cast<int64_t>(pending_.size()) >= options_.max_requests)
    return true;
  return schedule_ != nullptr && !next_;
}

void LoadLoop::TakeArrivals(int64_t now) {
  while (next_ && next_->at_ns <= now && !Stopping(now)) {
    if (next_->at_ns >= warm_end_) ++result_.arrivals;
    pending_.push_back(*next_);
    next_ = schedule_->Next();
    if (next_) next_->at_ns += t0_;
  }
}

void LoadLoop::Dispatch(int64_t now) {
  while (!idle_.empty()) {
    const int index = idle_.back();
    if (conns_[index].fd < 0 || conns_[index].busy) {
      idle_.pop_back();
      continue;
    }
    if (schedule_ != nullptr) {
      if (pending_.empty()) return;
      const Arrival a = pending_.front();
      pending_.pop_front();
      idle_.pop_back();
      Send(index, a.model >= 0 ? a.model : picker_.Next(), a.at_ns);
    } else {
      if (Stopping(now)) return;
      idle_.pop_back();
      Send(index, picker_.Next(), now);
    }
  }
}

int64_t LoadLoop::WaitNs(int64_t now) const {
  int64_t until = now < end_ ? end_ : end_ + static_cast<int64_t>(options_.drain_seconds * 1e9);
  if (next_ && !Stopping(now)) until = std::min(until, next_->at_ns);
  return std::max<int64_t>(0, until - now);
}

absl::StatusOr<RunResult> LoadLoop::Run() {
  if (absl::Status s = Resolve(); !s.ok()) return s;
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  t0_ = NowNs();
  warm_end_ = t0_ + static_cast<int64_t>(options_.warmup_seconds * 1e9);
  end_ = warm_end_ + static_cast<int64_t>(options_.duration_seconds * 1e9);
  for (int i = 0; i < options_.connections; ++i)
    if (!Connect(i)) return absl::UnavailableError("cannot open a socket");
  if (schedule_ != nullptr) {
    next_ = schedule_->Next();
    if (next_) next_->at_ns += t0_;
  }
  const int64_t drain_end = end_ + static_cast<int64_t>(options_.drain_seconds * 1e9);
  epoll_event events[256];
  for (;;) {
    int64_t now = NowNs();
    TakeArrivals(now);
    Dispatch(now);
    if (Stopping(now) && in_flight_ == 0 && pending_.empty()) break;
    if (now >= drain_end) {
      if (in_flight_ > 0) result_.errors["timeout"] += in_flight_;
      break;
    }
    if (std::all_of(conns_.begin(), conns_.end(), [](const Connection& c) { return c.dead; }))
      return absl::UnavailableError(absl::StrCat("cannot connect to ", options_.host, ":", options_.port));
    const int64_t wait = WaitNs(now);
    timespec timeout{static_cast<time_t>(wait / 1'000'000'000), static_cast<long>(wait % 1'000'000'000)};
    const int n = epoll_pwait2(epoll_, events, 256, &timeout, nullptr);
    for (int i = 0; i < n; ++i) OnEvent(static_cast<int>(events[i].data.u32), events[i].events);
  }
  for (const Arrival& a : pending_)
    if (a.at_ns >= warm_end_) ++result_.errors["unsent"];
  result_.measured_seconds = std::max<int64_t>(0, last_done_ - warm_end_) / 1e9;
  return std::move(result_);
}

}  // namespace

absl::StatusOr<RunResult> RunLoad(const RunOptions& options, const std::vector<std::string>& requests,
                                  ModelPicker& picker, ArrivalSchedule* schedule) {
  if (options.connections < 1) return absl::InvalidArgumentError("need at least one connection");
  if (requests.empty()) return absl::InvalidArgumentError("need at least one model");
  LoadLoop loop(options, requests, picker, schedule);
  return loop.Run();
}

}  // namespace modelmux::loadgen

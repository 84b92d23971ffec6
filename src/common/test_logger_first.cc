// Compiled into every test binary (modelmux_test in the top CMakeLists.txt):
// spdlog's default logger is created before the first test starts a thread.
// spdlog creates it on first use; Debian's libspdlog is not built with
// ThreadSanitizer, so a creation on one server thread and a read on another
// (two models loading at once, both logging) shows up as a (false) race.
#include "gtest/gtest.h"
#include "spdlog/spdlog.h"

namespace {

class DefaultLoggerFirst : public ::testing::Environment {
 public:
  void SetUp() override { spdlog::default_logger(); }
};

[[maybe_unused]] ::testing::Environment* const kDefaultLoggerFirst =
    ::testing::AddGlobalTestEnvironment(new DefaultLoggerFirst);

}  // namespace

#include "app/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "server/inference_server.h"

namespace modelmux {
namespace {

using ::testing::HasSubstr;

ParseOutcome Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "modelmux");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return ParseFlags(static_cast<int>(argv.size()), argv.data());
}

TEST(ConfigTest, DefaultsAndSuffixes) {
  ParseOutcome d = Parse({});
  ASSERT_FALSE(d.exit_now) << d.message;
  EXPECT_EQ(d.config.port, 8080);
  EXPECT_GT(d.config.workers, 0);
  EXPECT_GT(d.config.memory_budget_bytes, 0);
  ParseOutcome p = Parse({"--memory-budget", "512M", "--max-body-bytes", "1K", "--port", "0"});
  ASSERT_FALSE(p.exit_now) << p.message;
  EXPECT_EQ(p.config.memory_budget_bytes, 512LL << 20);
  EXPECT_EQ(p.config.max_body_bytes, 1024);
  EXPECT_EQ(p.config.port, 0);
}

TEST(ConfigTest, SageMakerRuntimeNames) {
  ParseOutcome d = Parse({});
  EXPECT_EQ(d.config.endpoint_name, "");
  EXPECT_EQ(d.config.production_variant, "AllTraffic");
  ParseOutcome p = Parse({"--endpoint-name", "tickets-prod-1", "--production-variant", "blue"});
  ASSERT_FALSE(p.exit_now) << p.message;
  EXPECT_EQ(p.config.endpoint_name, "tickets-prod-1");
  EXPECT_EQ(p.config.production_variant, "blue");
  for (const char* bad : {"-leading", "trailing-", "under_score", "a/b", ""}) {
    ParseOutcome o = Parse({"--endpoint-name", bad});
    EXPECT_TRUE(o.exit_now) << bad;
    EXPECT_NE(o.exit_code, 0) << bad;
  }
  EXPECT_TRUE(Parse({"--endpoint-name", std::string(64, 'e').c_str()}).exit_now);
  EXPECT_TRUE(Parse({"--production-variant", "all traffic"}).exit_now);
}

TEST(ConfigTest, RejectsBadValuesWithAMessage) {
  ParseOutcome bad = Parse({"--memory-budget", "lots"});
  EXPECT_TRUE(bad.exit_now);
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.message, HasSubstr("lots"));
  EXPECT_TRUE(Parse({"--eviction-policy", "random"}).exit_now);
  ParseOutcome lru = Parse({"--eviction-policy", "lru"});
  ASSERT_FALSE(lru.exit_now) << lru.message;
  EXPECT_EQ(lru.config.eviction_policy, "lru");
  EXPECT_EQ(Parse({}).config.eviction_policy, kDefaultEvictionPolicy);
  EXPECT_TRUE(Parse({"--no-such-flag"}).exit_now);
}

TEST(ConfigTest, HelpListsFlagsWithDefaults) {
  ParseOutcome help = Parse({"--help"});
  EXPECT_TRUE(help.exit_now);
  EXPECT_EQ(help.exit_code, 0);
  for (const char* flag : {"--store", "--port", "--memory-budget", "--workers", "--max-concurrent-loads",
                           "--preload", "--preload-all", "--max-body-bytes", "--per-model-metrics"}) {
    EXPECT_THAT(help.message, HasSubstr(flag));
  }
  EXPECT_THAT(help.message, HasSubstr("8080"));
  EXPECT_THAT(help.message, HasSubstr("70% of physical memory"));
}

TEST(ConfigTest, WarmRestartFlags) {
  ParseOutcome d = Parse({});
  EXPECT_EQ(d.config.state_dir, "");
  EXPECT_EQ(d.config.state_interval_s, 30);
  ParseOutcome w = Parse({"--state-dir", "/var/lib/modelmux", "--state-interval", "5"});
  ASSERT_FALSE(w.exit_now) << w.message;
  EXPECT_EQ(w.config.state_dir, "/var/lib/modelmux");
  EXPECT_EQ(w.config.state_interval_s, 5);
  EXPECT_TRUE(Parse({"--state-interval", "0"}).exit_now);
  EXPECT_THAT(Parse({"--help"}).message, HasSubstr("--state-dir"));
}

TEST(ConfigTest, PrewarmFlags) {
  ParseOutcome off = Parse({"--memory-budget", "1G"});
  EXPECT_FALSE(off.config.prewarm);
  EXPECT_EQ(off.config.prewarm_bytes, (int64_t{1} << 30) / 10);
  ParseOutcome on = Parse({"--memory-budget", "1G", "--prewarm", "--prewarm-bytes", "200M",
                           "--prewarm-loads-per-minute", "12", "--prewarm-lead", "30"});
  ASSERT_FALSE(on.exit_now) << on.message;
  EXPECT_TRUE(on.config.prewarm);
  EXPECT_EQ(on.config.prewarm_bytes, int64_t{200} << 20);
  EXPECT_EQ(on.config.prewarm_loads_per_minute, 12);
  EXPECT_DOUBLE_EQ(on.config.prewarm_lead_seconds, 30);
  EXPECT_TRUE(Parse({"--prewarm-loads-per-minute", "0"}).exit_now);
}

TEST(ConfigTest, PreloadFile) {
  auto path = std::filesystem::temp_directory_path() / "modelmux-preload-test.txt";
  std::ofstream(path) << "# hot tenants\nacme pin\n\nglobex   # comment\n";
  auto entries = ReadPreloadFile(path);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].name, "acme");
  EXPECT_TRUE((*entries)[0].pin);
  EXPECT_FALSE((*entries)[1].pin);
  std::ofstream(path) << "../etc/passwd\n";
  EXPECT_FALSE(ReadPreloadFile(path).ok());
  std::ofstream(path) << "acme pinned\n";
  EXPECT_THAT(ReadPreloadFile(path).status().message(), HasSubstr(":1:"));
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace modelmux

namespace modelmux {
namespace {

TEST(ConfigTest, S3StoreAndDiskCacheFlags) {
  ParseOutcome d = Parse({});
  ASSERT_FALSE(d.exit_now) << d.message;
  EXPECT_EQ(d.config.disk_cache_budget_bytes, int64_t{10} << 30);
  EXPECT_EQ(d.config.refresh_interval_s, 0);
  ParseOutcome s = Parse({"--store", "s3://models/tenants", "--s3-endpoint", "http://127.0.0.1:4568",
                          "--s3-region", "eu-west-3", "--disk-cache", "/var/cache/mm", "--disk-cache-budget",
                          "20G", "--refresh-interval", "300", "--s3-max-attempts", "2"});
  ASSERT_FALSE(s.exit_now) << s.message;
  EXPECT_EQ(s.config.store, "s3://models/tenants");
  EXPECT_EQ(s.config.s3_endpoint, "http://127.0.0.1:4568");
  EXPECT_EQ(s.config.s3_region, "eu-west-3");
  EXPECT_EQ(s.config.disk_cache_dir, "/var/cache/mm");
  EXPECT_EQ(s.config.disk_cache_budget_bytes, int64_t{20} << 30);
  EXPECT_EQ(s.config.refresh_interval_s, 300);
  EXPECT_EQ(s.config.s3_max_attempts, 2);
  EXPECT_TRUE(Parse({"--disk-cache-budget", "plenty"}).exit_now);
  EXPECT_TRUE(Parse({"--s3-max-attempts", "0"}).exit_now);
}

TEST(ConfigTest, ColdPathFlags) {
  ParseOutcome d = Parse({});
  ASSERT_FALSE(d.exit_now) << d.message;
  EXPECT_EQ(d.config.s3_part_size, int64_t{8} << 20);
  EXPECT_EQ(d.config.s3_parallel_parts, 4);
  EXPECT_EQ(d.config.revalidate_after_s, 60);
  ParseOutcome s = Parse({"--s3-part-size", "16M", "--s3-parallel-parts", "8", "--revalidate-after", "0"});
  ASSERT_FALSE(s.exit_now) << s.message;
  EXPECT_EQ(s.config.s3_part_size, int64_t{16} << 20);
  EXPECT_EQ(s.config.s3_parallel_parts, 8);
  EXPECT_EQ(s.config.revalidate_after_s, 0);
  EXPECT_TRUE(Parse({"--s3-part-size", "1K"}).exit_now);
  EXPECT_TRUE(Parse({"--s3-part-size", "big"}).exit_now);
  EXPECT_TRUE(Parse({"--s3-parallel-parts", "0"}).exit_now);
  EXPECT_TRUE(Parse({"--revalidate-after", "-1"}).exit_now);
}

TEST(ConfigTest, DeadlineFlags) {
  ParseOutcome d = Parse({});
  ASSERT_FALSE(d.exit_now) << d.message;
  EXPECT_EQ(d.config.load_timeout_s, 120);
  EXPECT_EQ(d.config.store_timeout_ms, 2000);
  EXPECT_EQ(d.config.s3_low_speed_limit, 32 << 10);
  EXPECT_EQ(d.config.s3_low_speed_time_s, 10);
  ParseOutcome s = Parse({"--load-timeout", "0", "--store-timeout", "500", "--s3-low-speed-limit", "1M",
                          "--s3-low-speed-time", "3"});
  ASSERT_FALSE(s.exit_now) << s.message;
  EXPECT_EQ(s.config.load_timeout_s, 0);
  EXPECT_EQ(s.config.store_timeout_ms, 500);
  EXPECT_EQ(s.config.s3_low_speed_limit, 1 << 20);
  EXPECT_EQ(s.config.s3_low_speed_time_s, 3);
  EXPECT_TRUE(Parse({"--load-timeout", "-1"}).exit_now);
  EXPECT_TRUE(Parse({"--store-timeout", "0"}).exit_now);
  EXPECT_TRUE(Parse({"--s3-low-speed-limit", "fast"}).exit_now);
  EXPECT_TRUE(Parse({"--s3-low-speed-time", "0"}).exit_now);
}

TEST(ConfigTest, AccessControlFlags) {
  ParseOutcome off = Parse({});
  EXPECT_TRUE(off.config.admin_token_file.empty());
  EXPECT_FALSE(off.config.metrics_auth);
  ParseOutcome on = Parse({"--admin-token-file", "/a", "--api-token-file", "/b", "--sigv4-credentials", "/c",
                           "--sigv4-region", "eu-west-1", "--metrics-auth"});
  ASSERT_FALSE(on.exit_now) << on.message;
  EXPECT_EQ(on.config.admin_token_file, "/a");
  EXPECT_EQ(on.config.api_token_file, "/b");
  EXPECT_EQ(on.config.sigv4_credentials_file, "/c");
  EXPECT_EQ(on.config.sigv4_region, "eu-west-1");
  EXPECT_TRUE(on.config.metrics_auth);
  ParseOutcome metrics_alone = Parse({"--metrics-auth"});
  EXPECT_TRUE(metrics_alone.exit_now);
  EXPECT_THAT(metrics_alone.message, HasSubstr("--metrics-auth needs"));
  EXPECT_THAT(Parse({"--sigv4-region", "us-east-1"}).message, HasSubstr("--sigv4-region needs"));
}

TEST(ConfigTest, GrpcFlags) {
  ParseOutcome d = Parse({});
  ASSERT_FALSE(d.exit_now) << d.message;
  EXPECT_EQ(d.config.grpc_port, -1);  // off
  EXPECT_EQ(d.config.grpc_threads, 1);
  ParseOutcome on = Parse({"--grpc-port", "0", "--grpc-port-file", "/tmp/p", "--grpc-threads", "3"});
  ASSERT_FALSE(on.exit_now) << on.message;
  EXPECT_EQ(on.config.grpc_port, 0);
  EXPECT_EQ(on.config.grpc_port_file, "/tmp/p");
  EXPECT_EQ(on.config.grpc_threads, 3);
  EXPECT_TRUE(Parse({"--grpc-port", "70000"}).exit_now);
  EXPECT_TRUE(Parse({"--grpc-threads", "0"}).exit_now);
  EXPECT_THAT(Parse({"--help"}).message, HasSubstr("--grpc-port"));
}

}  // namespace
}  // namespace modelmux

namespace modelmux {
namespace {

TEST(ConfigTest, DashboardPeersAndInterval) {
  ParseOutcome d = Parse({});
  ASSERT_FALSE(d.exit_now) << d.message;
  EXPECT_TRUE(d.config.dashboard_peers.empty());
  EXPECT_EQ(d.config.dashboard_interval_ms, 5000);
  ParseOutcome p = Parse({"--dashboard-peers", "10.0.0.7:8080,mm-2.local:80,[::1]:9000", "--dashboard-interval",
                          "1000"});
  ASSERT_FALSE(p.exit_now) << p.message;
  EXPECT_EQ(p.config.dashboard_peers,
            (std::vector<std::string>{"10.0.0.7:8080", "mm-2.local:80", "[::1]:9000"}));
  EXPECT_EQ(p.config.dashboard_interval_ms, 1000);
  for (const char* bad : {"10.0.0.7", "http://a:80", "a:0", "a:99999", "a b:80", "a:80/x"}) {
    ParseOutcome b = Parse({"--dashboard-peers", bad});
    EXPECT_TRUE(b.exit_now) << bad;
    EXPECT_THAT(b.message, HasSubstr("host:port")) << bad;
  }
  EXPECT_TRUE(Parse({"--dashboard-interval", "10"}).exit_now);
}

}  // namespace
}  // namespace modelmux

#include "plan/plot.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace modelmux::plan {
namespace {

std::string GnuplotScript(const std::string& dat, const std::string& png, const Plan& plan) {
  return absl::StrCat(
      "set terminal pngcairo size 1000,600 font 'sans,11'\n", "set output '", png, "'\n",
      "set title 'modelmux-plan: cold-start seconds and CPU against fleet size'\n",
      "set xlabel 'instances (N)'\nset ylabel 'cold-start seconds'\nset y2label 'CPU per instance (%)'\n",
      "set ytics nomirror\nset y2tics\nset xtics 1\nset grid\nset key top right\nset logscale y\n",
      "set datafile missing 'NaN'\n", "plot '", dat, "' using 1:2 with linespoints lw 2 title '",
      plan.chosen.policy, " cold-start s', '", dat, "' using 1:5 with linespoints lw 2 dt 2 title '",
      plan.chosen.policy, ", one instance lost', '", dat, "' using 1:7 with linespoints lw 2 title '",
      plan.baseline.policy, " cold-start s', '", dat,
      "' using 1:3 axes x1y2 with linespoints lw 2 title 'peak CPU', '", dat,
      "' using 1:4 axes x1y2 with linespoints lw 2 title 'mean CPU'\n");
}

}  // namespace

absl::Status WritePlanFiles(const Plan& plan, const std::string& report, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  const std::string md = dir + "/plan.md", dat = dir + "/plan.dat", png = dir + "/plan.png";
  const std::string gp = dir + "/plan.gnuplot";
  std::ofstream(md) << report;
  {
    std::ofstream out(dat);
    WritePlotData(plan, out);
    std::ofstream(gp) << GnuplotScript(dat, png, plan);
    if (!out) return absl::DataLossError(absl::StrCat("cannot write ", dat));
  }
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) {
    std::fprintf(stderr, "modelmux-plan: gnuplot is missing; wrote %s and %s only\n", md.c_str(),
                 dat.c_str());
    return absl::OkStatus();
  }
  const std::string command = absl::StrCat("gnuplot '", gp, "'");
  if (std::system(command.c_str()) != 0) return absl::InternalError(absl::StrCat("gnuplot failed on ", gp));
  std::fprintf(stderr, "modelmux-plan: wrote %s, %s, %s\n", md.c_str(), dat.c_str(), png.c_str());
  return absl::OkStatus();
}

}  // namespace modelmux::plan

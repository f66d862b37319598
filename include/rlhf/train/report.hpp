#pragma once
// The pipeline's report: the evaluation of SFT against PPO as a Markdown table (also printed),
// eval/results.json and eval/samples.jsonl, and two plots drawn with gnuplot from PPO's
// metrics.jsonl:
//   ppo_curves.png       per PPO iteration: the RM score, the gold score and the KL to SFT
//   overoptimization.png the gold and the RM score against √KL (Gao et al. 2022's view of
//                        reward over-optimisation: the RM score keeps rising, the gold one bends)
// gnuplot is optional: without it the data and the scripts are still written, and the report says
// how to draw them.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlhf/data/jsonl.hpp"
#include "rlhf/files/atomic_file.hpp"
#include "rlhf/train/evaluate.hpp"

namespace rlhf::train {

struct ReportInputs {
  std::vector<std::string> prompts;
  PolicySamples sft, ppo;
  WinRate win;
  nlohmann::ordered_json stage_summaries;  // stage name -> its stage.json
  std::int64_t samples_in_report = 8;
};

namespace report_detail {
inline std::string format(const char* f, double a, double b = 0) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, a, b);
  return buf;
}
// "mean ± sem"; a mean that rounds to zero prints as 0.000, not -0.000.
inline std::string pm(const MeanSem& m) { return format("%.3f ± %.3f", std::abs(m.mean) < 5e-4 ? 0.0 : m.mean, m.sem); }
// Text for a Markdown table cell: one line, no pipes.
inline std::string cell(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  std::string out;
  for (const char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}
inline double summary_number(const nlohmann::ordered_json& stages, const char* stage, const char* key) {
  if (!stages.contains(stage) || !stages[stage].contains("summary") || !stages[stage]["summary"].contains(key))
    return NAN;
  return stages[stage]["summary"][key].get<double>();
}
}  // namespace report_detail

// The evaluation as a Markdown table and a summary line.
inline std::string report_table(const ReportInputs& in) {
  using namespace report_detail;
  std::ostringstream t;
  t << "| held-out prompts: " << in.prompts.size() << " | SFT | PPO |\n|---|---:|---:|\n";
  t << "| gold score (labeler, noise-free) | " << pm(in.sft.gold_score()) << " | " << pm(in.ppo.gold_score()) << " |\n";
  t << "| reward-model score | " << pm(in.sft.rm_score()) << " | " << pm(in.ppo.rm_score()) << " |\n";
  t << "| KL to SFT (nats per response) | " << pm(in.sft.kl_to_reference()) << " | " << pm(in.ppo.kl_to_reference())
    << " |\n";
  t << "| response length (tokens) | " << format("%.1f", in.sft.mean_length()) << " | "
    << format("%.1f", in.ppo.mean_length()) << " |\n";
  t << "| responses ending with EOS | " << format("%.0f%%", 100 * in.sft.eos_rate()) << " | "
    << format("%.0f%%", 100 * in.ppo.eos_rate()) << " |\n";
  t << "\nWin rate of PPO over SFT by the gold score: **" << format("%.1f%%", 100 * in.win.rate()) << "** ("
    << in.win.wins << " wins, " << in.win.ties << " ties, " << in.win.losses << " losses; a tie counts half).\n";
  const double acc = summary_number(in.stage_summaries, "reward", "eval/accuracy");
  const double gold = summary_number(in.stage_summaries, "reward", "eval/gold_accuracy");
  if (std::isfinite(acc))
    t << "Reward model, held-out comparisons: accuracy " << format("%.3f", acc) << " against the labelers' rankings, "
      << format("%.3f", gold) << " against the gold preferences.\n";
  return t.str();
}

// eval/results.json (the numbers) and eval/samples.jsonl (every prompt with both responses).
inline void write_eval_files(const std::filesystem::path& dir, const ReportInputs& in) {
  std::filesystem::create_directories(dir);
  auto policy = [](const PolicySamples& p) {
    return nlohmann::ordered_json{{"gold_mean", p.gold_score().mean},    {"gold_sem", p.gold_score().sem},
                                  {"rm_mean", p.rm_score().mean},        {"rm_sem", p.rm_score().sem},
                                  {"kl_mean", p.kl_to_reference().mean}, {"kl_sem", p.kl_to_reference().sem},
                                  {"length_mean", p.mean_length()},      {"eos_rate", p.eos_rate()}};
  };
  const nlohmann::ordered_json results{{"prompts", in.prompts.size()}, {"sft", policy(in.sft)}, {"ppo", policy(in.ppo)},
                                       {"win_rate", in.win.rate()},    {"wins", in.win.wins},   {"ties", in.win.ties},
                                       {"losses", in.win.losses}};
  files::write_file_atomically(dir / "results.json",
                               results.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  data::JsonlWriter samples(dir / "samples.jsonl");
  for (std::size_t i = 0; i < in.prompts.size(); ++i)
    samples.write_ordered({{"prompt", in.prompts[i]},
                           {"sft", in.sft.responses[i]},
                           {"ppo", in.ppo.responses[i]},
                           {"gold_sft", in.sft.gold[i]},
                           {"gold_ppo", in.ppo.gold[i]},
                           {"rm_sft", in.sft.rm[i]},
                           {"rm_ppo", in.ppo.rm[i]},
                           {"kl_ppo", in.ppo.kl[i]}});
  samples.commit();
}

// plots/ppo.tsv and two gnuplot scripts from PPO's metrics; runs gnuplot when it is on PATH.
// Returns a line for the report on what was drawn.
inline std::string write_plots(const std::filesystem::path& dir, const std::filesystem::path& ppo_metrics) {
  std::filesystem::create_directories(dir);
  std::string tsv = "# iteration\trm_score\tgold_score\tkl\tsqrt_kl\n";
  data::read_jsonl(ppo_metrics, [&](const data::JsonlRecord& r) {
    const nlohmann::json& j = r.json();
    const double kl = j.value("objective/kl", 0.0);
    char line[160];
    std::snprintf(line, sizeof line, "%lld\t%.6g\t%.6g\t%.6g\t%.6g\n", (long long)j.value("iteration", 0),
                  j.value("objective/scores", 0.0), j.value("objective/gold", 0.0), kl, std::sqrt(std::max(kl, 0.0)));
    tsv += line;
  });
  files::write_file_atomically(dir / "ppo.tsv", tsv);
  const std::string curves = R"gp(set terminal pngcairo size 1200,380 font ",10"
set output "ppo_curves.png"
set datafile separator "\t"
set multiplot layout 1,3 title "PPO, per iteration (rollout batch means)"
set xlabel "iteration"
set grid
set key off
set title "reward-model score"
plot "ppo.tsv" using 1:2 with lines lw 2 lc rgb "#1f77b4"
set title "gold score (labeler)"
plot "ppo.tsv" using 1:3 with lines lw 2 lc rgb "#2ca02c"
set title "KL to SFT (nats per response)"
plot "ppo.tsv" using 1:4 with lines lw 2 lc rgb "#d62728"
unset multiplot
)gp";
  const std::string over = R"gp(set terminal pngcairo size 640,440 font ",10"
set output "overoptimization.png"
set datafile separator "\t"
set title "Scores against sqrt(KL to SFT) over PPO (Gao et al. 2022)"
set xlabel "sqrt(KL to SFT) (sqrt nats)"
set ylabel "reward-model score" textcolor rgb "#1f77b4"
set y2label "gold score (labeler)" textcolor rgb "#2ca02c"
set ytics nomirror
set y2tics
set grid
set key top left
plot "ppo.tsv" using 5:2 axes x1y1 with points pt 7 ps 0.6 lc rgb "#1f77b4" title "reward model", \
     "ppo.tsv" using 5:3 axes x1y2 with points pt 7 ps 0.6 lc rgb "#2ca02c" title "gold (labeler)"
)gp";
  files::write_file_atomically(dir / "ppo_curves.gp", curves);
  files::write_file_atomically(dir / "overoptimization.gp", over);
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0)
    return "gnuplot is not installed: the plots' data and scripts are in plots/ (run `gnuplot ppo_curves.gp` there)";
  const std::string cmd = "cd '" + dir.string() + "' && gnuplot ppo_curves.gp overoptimization.gp";
  if (std::system(cmd.c_str()) != 0) return "gnuplot failed on plots/*.gp; the data is in plots/ppo.tsv";
  return "plots: plots/ppo_curves.png, plots/overoptimization.png";
}

// DIR/report.md: the table, the stages, the plots and a few samples side by side.
inline void write_report(const std::filesystem::path& file, const ReportInputs& in, const std::string& table,
                         const std::string& plots_note) {
  using namespace report_detail;
  std::ostringstream r;
  r << "# RLHF pipeline report\n\n" << table << "\n## Stages\n\n| stage | seconds | summary |\n|---|---:|---|\n";
  for (const auto& [stage, s] : in.stage_summaries.items())
    r << "| " << stage << " | " << format("%.1f", s.value("seconds", 0.0)) << " | `" << cell(s["summary"].dump())
      << "` |\n";
  r << "\n## Plots\n\n";
  if (plots_note.rfind("plots:", 0) == 0)
    r << "![PPO curves](plots/ppo_curves.png)\n\n![Gold and RM score against sqrt(KL)](plots/overoptimization.png)\n";
  else r << plots_note << "\n";
  r << "\n## Samples (the same prompts and sampler draws for both policies)\n\n| prompt | SFT | gold | PPO | gold "
       "|\n|---|---|---:|---|---:|\n";
  for (std::size_t i = 0; i < in.prompts.size() && std::int64_t(i) < in.samples_in_report; ++i)
    r << "| " << cell(in.prompts[i]) << " | " << cell(in.sft.responses[i]) << " | " << format("%.2f", in.sft.gold[i])
      << " | " << cell(in.ppo.responses[i]) << " | " << format("%.2f", in.ppo.gold[i]) << " |\n";
  files::write_file_atomically(file, r.str());
}

}  // namespace rlhf::train

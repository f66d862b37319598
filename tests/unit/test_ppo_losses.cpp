// PPO's per-token math against TRL's own functions (tests/data/trl_ppo_refs.json, made by
// tests/reference/make_trl_ppo_refs.py with TRL 0.8.6), against hand computation, and its
// gradients against finite differences.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "gradcheck.hpp"
#include "rlhf/loss/ppo.hpp"
#include "below_training.hpp"

namespace test_ppo_losses {

namespace fs = std::filesystem;
using rlhf::cpu;
using rlhf::Tensor;
using Tensor2 = Tensor<double, cpu>;
namespace L = rlhf::loss;

namespace {

const nlohmann::json& refs() {
  static const nlohmann::json j = [] {
    std::ifstream in(fs::path(RLHF_TEST_DATA_DIR) / "trl_ppo_refs.json");
    REQUIRE(in);
    return nlohmann::json::parse(in);
  }();
  return j;
}

// A [B, T] tensor from nested JSON lists.
Tensor2 tensor(const nlohmann::json& rows) {
  const auto B = std::int64_t(rows.size()), T = std::int64_t(rows[0].size());
  std::vector<double> flat;
  for (const auto& r : rows)
    for (const auto& x : r) flat.push_back(x.get<double>());
  return Tensor2({B, T}, flat);
}

// Every element where mask is 1 agrees with want; where it is 0, got is `off` (when given).
void check_on_mask(const Tensor2& got, const Tensor2& want, const Tensor2& mask, double tol,
                   std::optional<double> off = {}) {
  for (std::int64_t i = 0; i < got.numel(); ++i) {
    INFO("element ", i);
    if (mask.data()[i] != 0) CHECK(got.data()[i] == doctest::Approx(want.data()[i]).epsilon(tol).scale(1e-12));
    else if (off) CHECK(got.data()[i] == *off);
  }
}

}  // namespace

TEST_CASE("ppo: masked mean, variance and whitening equal TRL's") {
  for (const auto& c : refs()["masked_stats"]) {
    INFO(c["name"].get<std::string>());
    const Tensor2 x = tensor(c["values"]), mask = tensor(c["mask"]);
    CHECK(L::masked_mean<double>(x, mask) == doctest::Approx(c["masked_mean"].get<double>()).epsilon(1e-13));
    CHECK(L::masked_var<double>(x, mask, true) ==
          doctest::Approx(c["masked_var_unbiased"].get<double>()).epsilon(1e-13));
    CHECK(L::masked_var<double>(x, mask, false) ==
          doctest::Approx(c["masked_var_biased"].get<double>()).epsilon(1e-13));
    Tensor2 w(x.shape());
    L::masked_whiten<double>(w.view(), x, mask, true);
    check_on_mask(w, tensor(c["masked_whiten_shift_mean"]), mask, 1e-12, 0.0);
    L::masked_whiten<double>(w.view(), x, mask, false);
    check_on_mask(w, tensor(c["masked_whiten_no_shift_mean"]), mask, 1e-12, 0.0);
  }
}

TEST_CASE("ppo: GAE equals TRL's compute_advantages on the response tokens, right and left masks") {
  for (const auto& c : refs()["gae"]) {
    INFO(c["name"].get<std::string>());
    const Tensor2 values = tensor(c["values_in"]), mask = tensor(c["mask"]);
    Tensor2 rewards = tensor(c["rewards_in"]);
    Tensor2 adv(values.shape()), ret(values.shape());
    if (c["whiten_rewards"].get<bool>()) {
      // TRL whitens every element, padding included, and its GAE loop then reads the padding's
      // (now nonzero) rewards: a row with padding after its response gets them added to its last
      // tokens' advantages. Ours reads nothing off the mask. Rows without trailing padding agree;
      // the others must not (the leak is real: this checks the reference shows it).
      L::masked_whiten<double>(rewards.view(), rewards, mask, false);
      L::gae<double>(adv.view(), ret.view(), values, rewards, mask, c["gamma"].get<double>(), c["lam"].get<double>());
      const Tensor2 want = tensor(c["advantages_unwhitened"]);
      const std::int64_t B = mask.size(0), T = mask.size(1);
      for (std::int64_t b = 0; b < B; ++b) {
        const bool trailing_pad = mask.data()[b * T + T - 1] == 0;
        for (std::int64_t t = 0; t < T; ++t) {
          if (mask.data()[b * T + t] == 0) continue;
          const double got = adv.data()[b * T + t], trl = want.data()[b * T + t];
          if (!trailing_pad) CHECK(got == doctest::Approx(trl).epsilon(1e-12));
        }
        if (trailing_pad) {
          std::int64_t last = 0;
          for (std::int64_t t = 0; t < T; ++t) last = mask.data()[b * T + t] != 0 ? t : last;
          CHECK(std::abs(adv.data()[b * T + last] - want.data()[b * T + last]) > 1e-3);
        }
      }
      continue;
    }
    L::gae<double>(adv.view(), ret.view(), values, rewards, mask, c["gamma"].get<double>(), c["lam"].get<double>());
    check_on_mask(adv, tensor(c["advantages_unwhitened"]), mask, 1e-12, 0.0);
    check_on_mask(ret, tensor(c["returns"]), mask, 1e-12, 0.0);
    L::masked_whiten<double>(adv.view(), adv, mask);
    check_on_mask(adv, tensor(c["advantages"]), mask, 1e-10, 0.0);
  }
}

TEST_CASE("ppo: GAE on a hand-computed example with a mask") {
  // One row [prompt | 3 response tokens | pad]: mask 0 1 1 1 0.
  const Tensor2 mask({1, 5}, {0, 1, 1, 1, 0});
  const Tensor2 values({1, 5}, {9, 1, 2, 3, 9});  // 9s are never read
  const Tensor2 rewards({1, 5}, {9, 0, 0, 1, 9});
  Tensor2 adv({1, 5}), ret({1, 5});
  L::gae<double>(adv.view(), ret.view(), values, rewards, mask, 1.0, 1.0);
  // γ = λ = 1: A_3 = 1 + 0 − 3 = −2; A_2 = 0 + 3 − 2 − 2 = −1; A_1 = 0 + 2 − 1 − 1 = 0; R = A + V = 1.
  CHECK(adv.to_vector() == std::vector<double>{0, 0, -1, -2, 0});
  CHECK(ret.to_vector() == std::vector<double>{0, 1, 1, 1, 0});
  L::gae<double>(adv.view(), ret.view(), values, rewards, mask, 0.9, 0.5);
  const double a3 = 1 - 3.0, a2 = 0 + 0.9 * 3 - 2 + 0.45 * a3, a1 = 0 + 0.9 * 2 - 1 + 0.45 * a2;
  CHECK(adv.data()[3] == doctest::Approx(a3));
  CHECK(adv.data()[2] == doctest::Approx(a2));
  CHECK(adv.data()[1] == doctest::Approx(a1));
  CHECK(ret.data()[1] == doctest::Approx(a1 + 1));
}

TEST_CASE("ppo: the KL penalty and the score land where TRL's compute_rewards puts them") {
  for (const auto& c : refs()["compute_rewards"]) {
    const std::string penalty = c["kl_penalty"].get<std::string>();
    if (penalty == "full") continue;  // needs whole distributions; not one of our estimators
    INFO(c["name"].get<std::string>());
    const Tensor2 logp = tensor(c["logprobs"]), ref = tensor(c["ref_logprobs"]), mask = tensor(c["masks"]);
    const auto scores = c["scores"].get<std::vector<double>>();
    Tensor2 rewards(logp.shape()), kl(logp.shape());
    L::per_token_rewards<double>(rewards.view(), kl.view(), scores, logp, ref, mask, c["kl_coef"].get<double>(),
                                 L::parse_kl_estimator(penalty));
    CHECK(L::last_response_index<double>(mask) == c["score_index"].get<std::vector<std::int64_t>>());
    check_on_mask(rewards, tensor(c["rewards"]), mask, 1e-12, 0.0);
    check_on_mask(kl, tensor(c["kls"]), mask, 1e-12, 0.0);
  }
}

TEST_CASE("ppo: the k3 estimator by hand, never negative") {
  // ρ = π_ref / π = e^{ref − logp}; k3 = ρ − 1 − log ρ.
  CHECK(L::kl_penalty(-1.0, -2.0, L::KLEstimator::k3) == doctest::Approx(std::exp(-1.0) - 1 + 1));
  CHECK(L::kl_penalty(-2.0, -1.0, L::KLEstimator::k3) == doctest::Approx(std::exp(1.0) - 1 - 1));
  CHECK(L::kl_penalty(-0.5, -0.5, L::KLEstimator::k3) == 0.0);
  for (double d : {-30.0, -3.0, -1e-9, 1e-9, 3.0, 30.0}) CHECK(L::kl_penalty(d, 0.0, L::KLEstimator::k3) >= 0.0);
  CHECK(L::kl_penalty(-1.0, -2.0, L::KLEstimator::k1) == 1.0);
  CHECK_THROWS_WITH(L::parse_kl_estimator("k2"), "unknown KL estimator \"k2\" (expected k1, k3, abs or mse)");
}

TEST_CASE("ppo: policy and value losses, their statistics and gradients equal TRL's loss()") {
  for (const auto& c : refs()["ppo_loss"]) {
    INFO(c["name"].get<std::string>());
    const Tensor2 mask = tensor(c["mask"]), old_logp = tensor(c["old_logprobs"]), logp = tensor(c["logprobs"]);
    const Tensor2 adv = tensor(c["advantages"]), values = tensor(c["values"]), vpreds = tensor(c["vpreds"]);
    const Tensor2 returns = tensor(c["returns"]);
    const auto& cfg = c["config"];
    Tensor2 dlogp(logp.shape()), dv(logp.shape());
    const L::PolicyLossStats pg =
        L::policy_loss<double>(dlogp.view(), logp, old_logp, adv, mask, cfg["cliprange"].get<double>());
    const L::ValueLossStats vf =
        L::value_loss<double>(dv.view(), vpreds, values, returns, mask, cfg["cliprange_value"].get<double>());
    const auto& st = c["stats"];
    CHECK(pg.loss == doctest::Approx(c["pg_loss"].get<double>()).epsilon(1e-12));
    CHECK(pg.clipfrac == doctest::Approx(st["policy/clipfrac"].get<double>()).epsilon(1e-12));
    CHECK(pg.approxkl == doctest::Approx(st["policy/approxkl"].get<double>()).epsilon(1e-12));
    CHECK(pg.policykl == doctest::Approx(st["policy/policykl"].get<double>()).epsilon(1e-12));
    CHECK(vf.loss == doctest::Approx(c["vf_loss"].get<double>()).epsilon(1e-12));
    CHECK(vf.clipfrac == doctest::Approx(st["val/clipfrac"].get<double>()).epsilon(1e-12));
    CHECK(vf.error == doctest::Approx(st["val/error"].get<double>()).epsilon(1e-12));
    check_on_mask(dlogp, tensor(c["dpg_loss_dlogprobs"]), mask, 1e-12, 0.0);
    check_on_mask(dv, tensor(c["dvf_loss_dvpreds"]), mask, 1e-12, 0.0);
    CHECK(c["n_ratio_outside_clip"].get<int>() > 0);  // the case exercises clipping
  }
}

TEST_CASE("ppo: policy and value loss gradients against finite differences (double)") {
  Tensor2 logp = gradcheck::randn({3, 6}, 41, 0.3), values = gradcheck::randn({3, 6}, 42);
  const Tensor2 old_logp = gradcheck::randn({3, 6}, 43, 0.3), adv = gradcheck::randn({3, 6}, 44);
  const Tensor2 old_values = gradcheck::randn({3, 6}, 45), returns = gradcheck::randn({3, 6}, 46);
  const Tensor2 mask({3, 6}, {1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0});
  Tensor2 scratch({3, 6});
  gradcheck::check_gradients(
      {{"logp", &logp}},
      [&] { return L::policy_loss<double>(scratch.view(), logp, old_logp, adv, mask, 0.2, 0.7).loss; },
      [&](std::vector<gradcheck::GradView>& g) {
        Tensor2 d({3, 6});
        L::policy_loss<double>(d.view(), logp, old_logp, adv, mask, 0.2, 0.7);
        for (int i = 0; i < 18; ++i) g[0].data()[i] += d.data()[i];
      });
  gradcheck::check_gradients(
      {{"values", &values}},
      [&] { return L::value_loss<double>(scratch.view(), values, old_values, returns, mask, 0.2).loss; },
      [&](std::vector<gradcheck::GradView>& g) {
        Tensor2 d({3, 6});
        L::value_loss<double>(d.view(), values, old_values, returns, mask, 0.2);
        for (int i = 0; i < 18; ++i) g[0].data()[i] += d.data()[i];
      });
}

TEST_CASE("ppo: the adaptive KL controller follows Ziegler et al. (TRL's AdaptiveKLController)") {
  const auto& a = refs()["adaptive_kl"];
  L::AdaptiveKL kl(a["init_kl_coef"].get<double>(), a["target"].get<double>(), a["horizon"].get<double>());
  for (const auto& u : a["updates"])
    CHECK(kl.update(u["current_kl"].get<double>(), u["n_steps"].get<std::int64_t>()) ==
          doctest::Approx(u["value_after"].get<double>()).epsilon(1e-13));
  // By hand: KL at twice the target moves β up by 0.2 · n / horizon (the clip), at the target not at all.
  L::AdaptiveKL k2(0.1, 6, 1000);
  CHECK(k2.update(12, 100) == doctest::Approx(0.1 * (1 + 0.2 * 0.1)));
  CHECK(k2.update(6, 100) == doctest::Approx(0.1 * (1 + 0.2 * 0.1)));
}

TEST_CASE("ppo: explained variance by hand") {
  const Tensor2 mask({1, 4}, {1, 1, 1, 0});
  const Tensor2 returns({1, 4}, {1, 2, 3, 100});
  CHECK(L::explained_variance<double>(returns, returns, mask) == 1.0);
  const Tensor2 mean({1, 4}, {2, 2, 2, 0});
  CHECK(L::explained_variance<double>(mean, returns, mask) == doctest::Approx(0.0));
}

TEST_CASE("ppo: log-probs and entropy at temperature 0.7 equal TRL's on logits / T") {
  const auto& c = refs()["logits_functions"];
  const double tau = c["temperature"].get<double>();
  std::vector<double> flat;
  for (const auto& a : c["logits"])
    for (const auto& b : a)
      for (const auto& x : b) flat.push_back(x.get<double>());
  const std::int64_t N = 6, V = 5;
  const Tensor2 logits({N, V}, flat);
  std::vector<std::int32_t> labels;
  for (const auto& a : c["labels"])
    for (const auto& x : a) labels.push_back(x.get<std::int32_t>());
  const Tensor<std::int32_t, cpu> targets({N}, labels);
  Tensor2 logp({N}), lse({N}), entropy({N});
  rlhf::logprob_forward(cpu{}, logp.view(), lse.view(), logits, targets, tau);
  rlhf::entropy_forward(cpu{}, entropy.view(), lse.view(), logits, tau);
  std::vector<double> want_logp, want_entropy;
  for (const auto& a : c["logprobs"])
    for (const auto& x : a) want_logp.push_back(x.get<double>());
  for (const auto& a : c["entropy"])
    for (const auto& x : a) want_entropy.push_back(x.get<double>());
  for (std::int64_t i = 0; i < N; ++i) {
    CHECK(logp.data()[i] == doctest::Approx(want_logp[std::size_t(i)]).epsilon(1e-12));
    CHECK(entropy.data()[i] == doctest::Approx(want_entropy[std::size_t(i)]).epsilon(1e-12));
  }
}

}  // namespace test_ppo_losses

// Checkpoints in the Hugging Face GPT-2 layout, both directions, against transformers' own
// logits (tests/reference/make_hf_refs.py made the reference files); the safetensors reader's
// validation of malformed files; config.json errors; and writes that are atomic.
#include <doctest/doctest.h>

#include "temp_dir.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../reference/our_tiny_gpt2.hpp"
#include "rlhf/files/atomic_file.hpp"
#include "rlhf/io/checkpoint.hpp"
#include "rlhf/io/safetensors.hpp"
#include "below_training.hpp"

namespace test_checkpoint {

namespace fs = std::filesystem;
using rlhf::cpu;
using rlhf::Tensor;
using rlhf::io::Dtype;
using rlhf::io::SafetensorsReader;
using rlhf::io::TensorToWrite;
using rlhf::nn::GPT;
using rlhf::nn::GPTConfig;

namespace {

const fs::path data_dir = RLHF_TEST_DATA_DIR;

// A fresh directory under the system's temp directory, removed with everything in it at the end.
using testing::TempDir;

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open ", file.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_bytes(const fs::path& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary);
  out << bytes;
  REQUIRE(out.good());
}

// Every file of a directory with its bytes (to see that a failed save changed nothing).
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const fs::directory_entry& e : fs::directory_iterator(dir))
    files[e.path().filename().string()] = read_bytes(e.path());
  return files;
}

// The message of the rlhf::error that f throws ("" and a failed check if it throws none).
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const rlhf::error& e) {
    return e.what();
  }
  FAIL_CHECK("expected an rlhf::error");
  return "";
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}
// Evaluates `message` once (doctest would evaluate a message expression again when logging).
#define CHECK_CONTAINS(message, part)                                                                             \
  do {                                                                                                            \
    const std::string checked_message = (message), checked_part = (part);                                         \
    CHECK_MESSAGE(contains(checked_message, checked_part), "'", checked_message, "' lacks '", checked_part, "'"); \
  } while (false)

// transformers' logits for a batch of ids, as make_hf_refs.py stores them.
struct ReferenceLogits {
  Tensor<std::int32_t, cpu> ids;
  std::vector<std::int64_t> shape;  // [B, T, V]
  std::vector<float> logits;
};
ReferenceLogits read_reference(const fs::path& file) {
  const nlohmann::json j = nlohmann::json::parse(read_bytes(file));
  ReferenceLogits r;
  std::vector<std::int32_t> ids;
  for (const auto& row : j.at("ids"))
    for (const auto& id : row) ids.push_back(id.get<std::int32_t>());
  r.shape = j.at("shape").get<std::vector<std::int64_t>>();
  r.logits = j.at("logits").get<std::vector<float>>();
  REQUIRE(r.shape.size() == 3);
  REQUIRE(static_cast<std::int64_t>(r.logits.size()) == r.shape[0] * r.shape[1] * r.shape[2]);
  r.ids = Tensor<std::int32_t, cpu>({r.shape[0], r.shape[1]}, std::span<const std::int32_t>(ids));
  return r;
}

// max |ours − transformers'| over every logit of the reference batch.
double max_logit_difference(GPT<float, cpu>& model, const ReferenceLogits& ref) {
  model.forward(ref.ids);
  const auto logits = model.logits();
  REQUIRE(logits.shape() == rlhf::Shape{ref.shape[0] * ref.shape[1], ref.shape[2]});
  double worst = 0;
  for (std::size_t i = 0; i < ref.logits.size(); ++i)
    worst = std::max(worst, std::abs(double(logits.data()[i]) - double(ref.logits[i])));
  return worst;
}

template <class T>
std::vector<T> parameters_of(const GPT<T, cpu>& model) {
  return model.parameters().to_vector();
}

// A seeded model of the tiny test size, with non-trivial LayerNorm gains and biases.
template <class T>
std::unique_ptr<GPT<T, cpu>> seeded_model(std::uint64_t seed) {
  auto model = std::make_unique<GPT<T, cpu>>(rlhf_reference::our_tiny_config());
  model->init_weights(seed);
  for (const auto& p : model->layout().params())
    if (!p.name.starts_with("w") && !p.name.ends_with("c_attn.weight") && !p.name.ends_with("c_fc.weight") &&
        !p.name.ends_with("c_proj.weight"))
      rlhf::fill_normal(cpu{}, model->parameter(p.name), rlhf::PhiloxStream{seed + 7, 0}, 0, T(0.5), T(0.3));
  return model;
}

// The tensors of a safetensors file, editable and writable again.
struct EditableTensor {
  std::string name;
  Dtype dtype;
  std::vector<std::int64_t> shape;
  std::vector<float> values;
  std::vector<std::int32_t> ints;  // when dtype is I32
};
std::vector<EditableTensor> read_all(const fs::path& file) {
  SafetensorsReader reader(file);
  std::vector<EditableTensor> out;
  for (const auto& t : reader.tensors()) out.push_back({t.name, t.dtype, t.shape, reader.read<float>(t), {}});
  return out;
}
void write_all(const fs::path& file, const std::vector<EditableTensor>& tensors) {
  std::vector<TensorToWrite> w;
  for (const auto& t : tensors)
    w.push_back(
        {t.name, t.dtype, t.shape, t.dtype == Dtype::I32 ? static_cast<const void*>(t.ints.data()) : t.values.data()});
  rlhf::io::write_safetensors(file, w);
}

// A safetensors file from a header text and a data buffer, byte by byte as given.
std::string safetensors_bytes(const std::string& header, const std::string& data, std::uint64_t length) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<char>((length >> (8 * i)) & 0xFF);
  return bytes + header + data;
}
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  return safetensors_bytes(header, data, header.size());
}

}  // namespace

TEST_CASE("checkpoint: a checkpoint written by transformers loads and gives transformers' logits") {
  const fs::path dir = data_dir / "hf_tiny_gpt2";
  const GPTConfig config = rlhf::io::read_config(dir);
  CHECK(config.vocab_size == 64);
  CHECK(config.n_positions == 16);
  CHECK(config.n_embd == 32);
  CHECK(config.n_layer == 2);
  CHECK(config.n_head == 4);
  CHECK(config.layer_norm_epsilon == 1e-5);

  // Its tensors carry the `transformer.` prefix and it has no lm_head.weight (transformers drops
  // the tied copy): the loader must take both in its stride.
  CHECK(SafetensorsReader(dir / "model.safetensors").find("transformer.wte.weight") != nullptr);

  auto model = rlhf::io::load_gpt<float>(dir);
  const double diff = max_logit_difference(*model, read_reference(data_dir / "hf_tiny_gpt2_logits.json"));
  MESSAGE("transformers -> rlhf++: max |logit difference| = ", diff);
  CHECK(diff <= 1e-4);

  // load_weights into a model built separately gives the same parameters.
  GPT<float, cpu> again(config);
  rlhf::io::load_weights(dir, again);
  CHECK(parameters_of(again) == parameters_of(*model));
}

TEST_CASE("checkpoint: ours is byte for byte the checkpoint transformers loaded, and gives its logits") {
  // make_hf_refs.py loaded tests/data/ours_tiny_gpt2 with GPT2LMHeadModel.from_pretrained and
  // stored its logits. Writing the same model again must give the same bytes, so what passed
  // through transformers is what save_gpt writes today.
  auto model = rlhf_reference::make_our_tiny_gpt2();
  TempDir tmp;
  rlhf::io::save_gpt(tmp / "ckpt", *model);
  const fs::path committed = data_dir / "ours_tiny_gpt2";
  CHECK(read_bytes(tmp / "ckpt/config.json") == read_bytes(committed / "config.json"));
  CHECK(read_bytes(tmp / "ckpt/model.safetensors") == read_bytes(committed / "model.safetensors"));
  CHECK(snapshot(tmp / "ckpt").size() == 2);  // no temporary files left behind

  const double diff = max_logit_difference(*model, read_reference(data_dir / "ours_tiny_gpt2_hf_logits.json"));
  MESSAGE("rlhf++ -> transformers: max |logit difference| = ", diff);
  CHECK(diff <= 1e-4);

  auto loaded = rlhf::io::load_gpt<float>(committed);
  CHECK(parameters_of(*loaded) == parameters_of(*model));
}

TEST_CASE("checkpoint: save then load is bit-exact, in float and in double") {
  TempDir tmp;
  auto f = seeded_model<float>(3);
  rlhf::io::save_gpt(tmp / "f32", *f);
  auto f_back = rlhf::io::load_gpt<float>(tmp / "f32");
  CHECK(parameters_of(*f_back) == parameters_of(*f));
  const GPTConfig c = f_back->config();
  CHECK(c.vocab_size == f->config().vocab_size);
  CHECK(c.n_positions == f->config().n_positions);
  CHECK(c.n_embd == f->config().n_embd);
  CHECK(c.n_layer == f->config().n_layer);
  CHECK(c.n_head == f->config().n_head);
  CHECK(c.layer_norm_epsilon == f->config().layer_norm_epsilon);
  CHECK(c.initializer_range == f->config().initializer_range);

  auto d = seeded_model<double>(4);
  rlhf::io::save_gpt(tmp / "f64", *d);
  CHECK(SafetensorsReader(tmp / "f64/model.safetensors").at("wte.weight").dtype == Dtype::F64);
  CHECK(nlohmann::json::parse(read_bytes(tmp / "f64/config.json")).at("torch_dtype") == "float64");
  auto d_back = rlhf::io::load_gpt<double>(tmp / "f64");
  CHECK(parameters_of(*d_back) == parameters_of(*d));

  // An F64 checkpoint loads into a float model, each value rounded once.
  auto narrowed = rlhf::io::load_gpt<float>(tmp / "f64");
  const std::vector<double> wide = parameters_of(*d);
  const std::vector<float> narrow = parameters_of(*narrowed);
  REQUIRE(wide.size() == narrow.size());
  bool all_rounded = true;
  for (std::size_t i = 0; i < wide.size(); ++i) all_rounded = all_rounded && narrow[i] == static_cast<float>(wide[i]);
  CHECK(all_rounded);

  // Saving over an existing checkpoint replaces it.
  auto g = seeded_model<float>(5);
  rlhf::io::save_gpt(tmp / "f32", *g);
  CHECK(parameters_of(*rlhf::io::load_gpt<float>(tmp / "f32")) == parameters_of(*g));
}

TEST_CASE("checkpoint: the tokenizer files and token ids go into the checkpoint when given") {
  TempDir tmp;
  write_bytes(tmp / "vocab.json", "{\"a\": 0}");
  write_bytes(tmp / "merges.txt", "#version: 0.2\na b\n");
  rlhf::io::SaveOptions options;
  options.vocab_json = tmp / "vocab.json";
  options.merges_txt = tmp / "merges.txt";
  options.config.bos_token_id = 1;
  options.config.eos_token_id = 2;
  auto model = seeded_model<float>(6);
  rlhf::io::save_gpt(tmp / "ckpt", *model, options);
  CHECK(read_bytes(tmp / "ckpt/vocab.json") == "{\"a\": 0}");
  CHECK(read_bytes(tmp / "ckpt/merges.txt") == "#version: 0.2\na b\n");
  const auto config = nlohmann::json::parse(read_bytes(tmp / "ckpt/config.json"));
  CHECK(config.at("bos_token_id") == 1);
  CHECK(config.at("eos_token_id") == 2);
  CHECK(config.at("model_type") == "gpt2");
  CHECK(config.at("architectures") == nlohmann::json::array({"GPT2LMHeadModel"}));
  CHECK(config.at("activation_function") == "gelu_new");
  CHECK(config.at("tie_word_embeddings") == true);

  // Without tokenizer files, none are written; the ids default to the last one (GPT-2's EOS).
  rlhf::io::save_gpt(tmp / "bare", *model);
  CHECK(snapshot(tmp / "bare").size() == 2);
  CHECK(nlohmann::json::parse(read_bytes(tmp / "bare/config.json")).at("eos_token_id") == 49);
}

TEST_CASE("safetensors: F16, BF16 and F64 convert to the reader's type; integers stay integers") {
  TempDir tmp;
  // 1, -2, 0.5, 65504 (largest half), 2^-24 (smallest subnormal), 2^-15 (a subnormal), -0
  const std::vector<std::uint16_t> f16 = {0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x0200, 0x8000};
  const std::vector<float> f16_values = {1.0f, -2.0f, 0.5f, 65504.0f, 0x1p-24f, 0x1p-15f, -0.0f};
  const std::vector<std::uint16_t> bf16 = {0x3F80, 0xC0A0, 0x3E00};  // 1, -5, 0.125
  const std::vector<double> f64 = {0.1, -1e-3, 3.0};
  const std::vector<std::int64_t> i64 = {-3, 0, 1LL << 40};
  const std::vector<TensorToWrite> tensors = {
      {"half", Dtype::F16, {7}, f16.data()},   {"brain", Dtype::BF16, {3, 1}, bf16.data()},
      {"double", Dtype::F64, {3}, f64.data()}, TensorToWrite::of<std::int64_t>("ids", {3}, i64),
      {"empty", Dtype::F32, {0, 4}, nullptr},
  };
  rlhf::io::write_safetensors(tmp / "t.safetensors", tensors, {{"format", "pt"}, {"note", "hello"}});

  SafetensorsReader reader(tmp / "t.safetensors");
  CHECK(reader.metadata().at("note") == "hello");
  CHECK(reader.tensors().size() == 5);
  CHECK(reader.read<float>("half") == f16_values);
  CHECK(std::signbit(reader.read<float>("half")[6]));
  CHECK(reader.read<float>("brain") == std::vector<float>{1.0f, -5.0f, 0.125f});
  CHECK(reader.at("brain").shape == std::vector<std::int64_t>{3, 1});
  CHECK(reader.read<double>("double") == f64);
  CHECK(reader.read<float>("double") == std::vector<float>{0.1f, -1e-3f, 3.0f});
  CHECK(reader.read<std::int64_t>("ids") == i64);
  CHECK(reader.read<std::int32_t>("ids") == std::vector<std::int32_t>{-3, 0, 0});  // static_cast wraps, as documented
  CHECK(reader.read<float>("empty").empty());
  CHECK_CONTAINS(error_of([&] { reader.read<float>("ids"); }),
                 "tensor 'ids' has dtype I64, which cannot be read as floating point");
  CHECK_CONTAINS(error_of([&] { reader.read<float>("nope"); }), "no tensor named 'nope'");

  // The header is padded to a multiple of 8 bytes so the data buffer is aligned.
  const std::string bytes = read_bytes(tmp / "t.safetensors");
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  CHECK(n % 8 == 0);
}

TEST_CASE("safetensors: malformed files are rejected with an error naming the file and the tensor") {
  TempDir tmp;
  const fs::path file = tmp / "bad.safetensors";
  auto reject = [&](const std::string& bytes) {
    write_bytes(file, bytes);
    const std::string message = error_of([&] { SafetensorsReader{file}; });
    CHECK_CONTAINS(message, file.string());
    return message;
  };
  const std::string f32x2 = R"("dtype":"F32","shape":[2])";
  const std::string eight(8, 'x');

  // A valid file to start from: two F32 tensors of 2 elements.
  const std::string good = safetensors_bytes(
      R"({"a":{)" + f32x2 + R"(,"data_offsets":[0,8]},"b":{)" + f32x2 + R"(,"data_offsets":[8,16]}})", eight + eight);
  write_bytes(file, good);
  CHECK(SafetensorsReader(file).tensors().size() == 2);

  CHECK_CONTAINS(reject(""), "too short for the 8-byte header length");
  CHECK_CONTAINS(reject("abc"), "file of 3 bytes is too short");
  // Truncated in the data buffer: the last tensor runs past the end.
  CHECK_CONTAINS(reject(good.substr(0, good.size() - 3)),
                 "tensor 'b': data_offsets [8, 16] run past the end of the data buffer (13 bytes)");
  // Truncated in the header.
  CHECK_CONTAINS(reject(good.substr(0, 20)), "header length");
  CHECK_CONTAINS(reject(safetensors_bytes("{}", "", 1000)),
                 "header length 1000 runs past the end of the file (2 bytes follow");
  CHECK_CONTAINS(reject(safetensors_bytes("{}", "", 200'000'000)),
                 "header length 200000000 exceeds the limit of 100000000 bytes");
  CHECK_CONTAINS(reject(safetensors_bytes(R"({"a":{"dtype":"F32",)", "")), "header is not valid JSON");
  CHECK_CONTAINS(reject(safetensors_bytes("[1, 2]", "")), "header is not a JSON object");
  CHECK_CONTAINS(reject(safetensors_bytes(R"({"a":{"dtype":"F17","shape":[2],"data_offsets":[0,8]}})", eight)),
                 "tensor 'a': unknown dtype 'F17'");
  CHECK_CONTAINS(reject(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,8]}})", eight)),
                 "tensor 'a': shape [2, 3] of F32 needs 24 bytes, but data_offsets [0, 8] hold 8");
  CHECK_CONTAINS(reject(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", eight)),
                 "tensor 'a': data_offsets [8, 0] end before they begin");
  CHECK_CONTAINS(reject(safetensors_bytes(
                     R"({"a":{)" + f32x2 + R"(,"data_offsets":[0,8]},"b":{)" + f32x2 + R"(,"data_offsets":[4,12]}})",
                     eight + "xxxx")),
                 "tensors 'a' [0, 8) and 'b' [4, 12) overlap");
  CHECK_CONTAINS(reject(safetensors_bytes(
                     R"({"a":{)" + f32x2 + R"(,"data_offsets":[0,8]},"b":{)" + f32x2 + R"(,"data_offsets":[12,20]}})",
                     eight + eight + "xxxx")),
                 "gap of 4 bytes in the data buffer before tensor 'b' [12, 20) (after 'a')");
  CHECK_CONTAINS(reject(safetensors_bytes(R"({"a":{)" + f32x2 + R"(,"data_offsets":[4,12]}})", eight + "xxxx")),
                 "gap of 4 bytes in the data buffer before tensor 'a' [4, 12) (at its start)");
  CHECK_CONTAINS(reject(safetensors_bytes(R"({"a":{)" + f32x2 + R"(,"data_offsets":[0,8]}})", eight + "xxxx")),
                 "4 bytes after the last tensor are not covered by any tensor");
  CHECK_CONTAINS(reject(safetensors_bytes(
                     R"({"a":{)" + f32x2 + R"(,"data_offsets":[0,8]},"a":{)" + f32x2 + R"(,"data_offsets":[8,16]}})",
                     eight + eight)),
                 "tensor 'a' appears twice in the header");
  CHECK_CONTAINS(reject(safetensors_bytes(R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", eight)),
                 "tensor 'a': missing field 'shape'");
  CHECK_CONTAINS(reject(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight)),
                 "tensor 'a': shape must hold non-negative integers, got -2");
  CHECK_CONTAINS(reject(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", eight)),
                 "tensor 'a': data_offsets must be [begin, end]");
  CHECK_CONTAINS(
      reject(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})", eight)),
      "tensor 'a': shape [4611686018427387904, 4] of F32 needs more than 2^60 bytes");
  CHECK_CONTAINS(reject(safetensors_bytes(R"({"__metadata__":{"format":1}})", "")),
                 "__metadata__ entry 'format' must be a string");
  CHECK_CONTAINS(error_of([&] { SafetensorsReader{tmp / "missing.safetensors"}; }), "cannot open the file");
}

TEST_CASE("checkpoint: tensors that do not fit the model are errors naming the file, the tensor and both shapes") {
  TempDir tmp;
  auto model = seeded_model<float>(8);
  rlhf::io::save_gpt(tmp / "ckpt", *model);
  const fs::path weights = tmp / "ckpt/model.safetensors";
  const std::vector<EditableTensor> original = read_all(weights);
  auto target = std::make_unique<GPT<float, cpu>>(rlhf_reference::our_tiny_config());
  const std::vector<float> untouched = parameters_of(*target);

  // Loads the edited file into `target`; returns the error (or "" when it loads).
  auto load_edited = [&](const std::function<void(std::vector<EditableTensor>&)>& edit) {
    std::vector<EditableTensor> tensors = original;
    edit(tensors);
    write_all(weights, tensors);
    try {
      rlhf::io::load_weights(tmp / "ckpt", *target);
    } catch (const rlhf::error& e) {
      CHECK_MESSAGE(parameters_of(*target) == untouched, "a failed load changed the model");
      return std::string(e.what());
    }
    return std::string();
  };
  auto find = [](std::vector<EditableTensor>& ts, const std::string& name) -> EditableTensor& {
    for (auto& t : ts)
      if (t.name == name) return t;
    FAIL("no tensor ", name);
    return ts.front();
  };

  std::string e =
      load_edited([](auto& ts) { std::erase_if(ts, [](auto& t) { return t.name == "h.1.mlp.c_fc.bias"; }); });
  CHECK_CONTAINS(e, weights.string());
  CHECK_CONTAINS(e, "missing tensor 'h.1.mlp.c_fc.bias'");

  e = load_edited([&](auto& ts) { find(ts, "h.0.attn.c_attn.weight").shape = {60, 20}; });  // nn.Linear's layout
  CHECK_CONTAINS(e, weights.string());
  CHECK_CONTAINS(e, "tensor 'h.0.attn.c_attn.weight' has shape [60, 20], expected [20, 60]");

  e = load_edited([&](auto& ts) {
    ts.push_back({"h.2.ln_1.weight", Dtype::F32, {20}, std::vector<float>(20, 1.0f), {}});
    ts.push_back({"score.weight", Dtype::F32, {1, 20}, std::vector<float>(20, 1.0f), {}});
  });
  CHECK_CONTAINS(e, weights.string());
  CHECK_CONTAINS(e, "unknown tensors 'h.2.ln_1.weight', 'score.weight'");

  e = load_edited([&](auto& ts) {
    EditableTensor& t = find(ts, "ln_f.bias");
    t.dtype = Dtype::I32;
    t.ints.assign(20, 0);
  });
  CHECK_CONTAINS(e, "tensor 'ln_f.bias' has dtype I32, expected F32, F64, F16 or BF16");

  e = load_edited([&](auto& ts) {
    EditableTensor head = find(ts, "wte.weight");
    head.name = "lm_head.weight";
    head.values[7] += 1.0f;
    ts.push_back(head);
  });
  CHECK_CONTAINS(e, "tensor 'lm_head.weight' differs from wte.weight (element 7");

  e = load_edited([&](auto& ts) {
    EditableTensor copy = find(ts, "wpe.weight");
    copy.name = "transformer.wpe.weight";
    ts.push_back(copy);
  });
  CHECK_CONTAINS(e, "tensor 'wpe.weight' appears twice, as 'wpe.weight' and 'transformer.wpe.weight'");

  // What transformers and the hub write loads: the `transformer.` prefix, a tied lm_head.weight
  // and the attention-mask buffers of older versions.
  e = load_edited([&](auto& ts) {
    EditableTensor head = find(ts, "wte.weight");
    head.name = "lm_head.weight";
    for (auto& t : ts) t.name = "transformer." + t.name;
    ts.push_back(head);
    for (int l = 0; l < 2; ++l) {
      ts.push_back({"transformer.h." + std::to_string(l) + ".attn.bias",
                    Dtype::F32,
                    {1, 1, 12, 12},
                    std::vector<float>(144, 1.0f),
                    {}});
      ts.push_back({"transformer.h." + std::to_string(l) + ".attn.masked_bias", Dtype::F32, {}, {-1e4f}, {}});
    }
  });
  CHECK(e.empty());
  CHECK(parameters_of(*target) == parameters_of(*model));

  // Same shapes, another architecture: config.json must match the model.
  write_all(weights, original);
  GPTConfig two_heads = rlhf_reference::our_tiny_config();
  two_heads.n_head = 2;
  GPT<float, cpu> other(two_heads);
  CHECK_CONTAINS(error_of([&] { rlhf::io::load_weights(tmp / "ckpt", other); }),
                 "config.json: field 'n_head' is 4, but the model has 2");

  // A directory without model.safetensors says what it found instead.
  fs::create_directories(tmp / "bin");
  fs::copy_file(tmp / "ckpt/config.json", tmp / "bin/config.json");
  CHECK_CONTAINS(error_of([&] { rlhf::io::load_gpt<float>(tmp / "bin"); }), "model.safetensors: no such file");
  write_bytes(tmp / "bin/pytorch_model.bin", "x");
  CHECK_CONTAINS(error_of([&] { rlhf::io::load_gpt<float>(tmp / "bin"); }),
                 "only model.safetensors is supported, not pytorch_model.bin");
}

TEST_CASE("checkpoint: config.json errors name the file and the field") {
  TempDir tmp;
  const nlohmann::json base = nlohmann::json::parse(read_bytes(data_dir / "hf_tiny_gpt2/config.json"));
  const fs::path file = tmp / "config.json";
  auto write_config = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = base;
    edit(j);
    write_bytes(file, j.dump());
  };
  auto rejects = [&](const std::function<void(nlohmann::json&)>& edit, const std::string& part) {
    write_config(edit);
    const std::string message = error_of([&] { rlhf::io::read_config(tmp.path); });
    CHECK_CONTAINS(message, file.string() + ": ");
    CHECK_CONTAINS(message, part);
  };
  rejects([](auto& j) { j.erase("n_embd"); }, "field 'n_embd' is missing");
  rejects([](auto& j) { j.erase("vocab_size"); }, "field 'vocab_size' is missing");
  rejects([](auto& j) { j.erase("n_positions"); }, "field 'n_positions' is missing");
  rejects([](auto& j) { j["n_layer"] = "2"; }, "field 'n_layer' must be an integer, got string \"2\"");
  rejects([](auto& j) { j["n_head"] = 4.5; }, "field 'n_head' must be an integer, got number 4.5");
  rejects([](auto& j) { j["layer_norm_epsilon"] = "1e-5"; }, "field 'layer_norm_epsilon' must be a number");
  rejects([](auto& j) { j["activation_function"] = "relu"; }, "field 'activation_function' is \"relu\": not supported");
  rejects([](auto& j) { j["n_inner"] = 100; }, "field 'n_inner' is 100: not supported");
  rejects([](auto& j) { j["tie_word_embeddings"] = false; }, "field 'tie_word_embeddings' is false: not supported");
  rejects([](auto& j) { j["scale_attn_by_inverse_layer_idx"] = true; },
          "field 'scale_attn_by_inverse_layer_idx' is true");
  rejects([](auto& j) { j["model_type"] = "llama"; }, "field 'model_type' is \"llama\", expected \"gpt2\"");
  rejects([](auto& j) { j["n_head"] = 3; }, "n_head = 3 does not divide n_embd = 32");
  rejects([](auto& j) { j["vocab_size"] = 0; }, "vocab_size must be positive");

  write_bytes(file, "{\"n_embd\": ");
  CHECK_CONTAINS(error_of([&] { rlhf::io::read_config(tmp.path); }), "config.json: not valid JSON");
  fs::remove(file);
  CHECK_CONTAINS(error_of([&] { rlhf::io::read_config(tmp.path); }), "config.json: cannot open the file");

  // What transformers defaults is optional here too; old files name the context n_ctx.
  write_config([](auto& j) {
    for (const char* f : {"layer_norm_epsilon", "initializer_range", "n_inner", "model_type"}) j.erase(f);
    j["n_ctx"] = j["n_positions"];
    j.erase("n_positions");
    j["activation_function"] = "gelu_pytorch_tanh";
  });
  const GPTConfig c = rlhf::io::read_config(tmp.path);
  CHECK(c.n_positions == 16);
  CHECK(c.layer_norm_epsilon == 1e-5);
  CHECK(c.initializer_range == 0.02);
}

TEST_CASE("atomic file: the target changes only at commit, and an abandoned write leaves nothing") {
  TempDir tmp;
  const fs::path target = tmp / "out.json";
  {
    rlhf::files::AtomicFile out(target);
    out.write("{\"half\": ");
    CHECK(fs::exists(out.temporary()));
    CHECK(out.temporary().parent_path() == tmp.path);  // same directory: rename cannot cross file systems
    CHECK_FALSE(fs::exists(target));
  }  // destroyed without commit, as when an exception unwinds
  CHECK(fs::is_empty(tmp.path));

  rlhf::files::write_file_atomically(target, "old");
  try {
    rlhf::files::AtomicFile out(target);
    out.write("new, but never finished");
    throw std::runtime_error("interrupted");
  } catch (const std::runtime_error&) {
  }
  CHECK(read_bytes(target) == "old");
  CHECK(snapshot(tmp.path).size() == 1);

  rlhf::files::AtomicFile out(target);
  out.write("new");
  out.commit();
  CHECK(read_bytes(target) == "new");
  CHECK(snapshot(tmp.path).size() == 1);
  CHECK_CONTAINS(error_of([&] { out.write("more"); }), "already committed");
  CHECK_CONTAINS(error_of([&] { rlhf::files::AtomicFile(tmp / "no/such/dir/x.json"); }),
                 "x.json: cannot create a file in");
}

TEST_CASE("checkpoint: a failed save leaves the directory as it was, without temporary files") {
  TempDir tmp;
  const fs::path dir = tmp / "ckpt";
  auto before = seeded_model<float>(9);
  rlhf::io::save_gpt(dir, *before);
  const auto saved = snapshot(dir);
  auto after = seeded_model<float>(10);

  // A tokenizer file that cannot be read fails the save after the weights were written out.
  rlhf::io::SaveOptions options;
  options.vocab_json = tmp / "missing_vocab.json";
  CHECK_CONTAINS(error_of([&] { rlhf::io::save_gpt(dir, *after, options); }),
                 "missing_vocab.json: cannot open the file");
  CHECK(snapshot(dir) == saved);

  // A write that fails half-way, as on a full disk: the file size limit makes write() fail with
  // EFBIG once 4 KiB are written (the weights are 47 KB), instead of killing us with SIGXFSZ.
  rlimit old_limit{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  rlimit small = old_limit;
  small.rlim_cur = 4096;
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  const std::string over_old = error_of([&] { rlhf::io::save_gpt(dir, *after); });
  const std::string fresh = error_of([&] { rlhf::io::save_gpt(tmp / "fresh", *after); });
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  std::signal(SIGXFSZ, old_handler);

  CHECK_CONTAINS(over_old, "model.safetensors: write failed: File too large");
  CHECK(snapshot(dir) == saved);
  CHECK_CONTAINS(fresh, "model.safetensors: write failed");
  CHECK_FALSE(fs::exists(tmp / "fresh"));  // the directory it created is gone again
  CHECK(parameters_of(*rlhf::io::load_gpt<float>(dir)) == parameters_of(*before));
}

}  // namespace test_checkpoint

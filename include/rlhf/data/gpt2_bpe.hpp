#pragma once
// GPT-2's byte-level BPE tokenizer, loaded from Hugging Face's vocab.json + merges.txt, giving
// the same ids as Hugging Face's `tokenizers` (checked by tests/unit/test_tokenizers.cpp against
// references made by tests/reference/make_bpe_refs.py).
//
// encode: special tokens (<|endoftext|>) are split out first; the text between them is cut into
// pieces by GPT-2's pre-tokenisation (gpt2_pretokenizer.hpp); each piece starts as one token per
// byte, and adjacent tokens are merged, always the pair whose merge comes first in merges.txt
// (leftmost of equals), until no pair has a merge. Results per piece are cached.
//
// The files spell tokens through GPT-2's byte-to-character mapping (byte_level.hpp); the
// tokenizer converts them to raw bytes once, at load time, and then works on bytes only, so
// any byte string -- invalid UTF-8 included -- encodes, and decode(encode(s)) == s.
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <queue>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlhf/core/error.hpp"
#include "rlhf/data/byte_level.hpp"
#include "rlhf/data/gpt2_pretokenizer.hpp"
#include "rlhf/data/special_tokens.hpp"
#include "rlhf/files/json_text.hpp"

namespace rlhf::data {

class Gpt2Tokenizer {
 public:
  // Most distinct pieces remembered; a full cache is emptied and refilled.
  static constexpr std::size_t default_cache_capacity = 1 << 16;

  // Loads dir/vocab.json and dir/merges.txt.
  static Gpt2Tokenizer load(const std::filesystem::path& dir,
                            std::vector<std::string> special_tokens = {"<|endoftext|>"}) {
    return load_files(dir / "vocab.json", dir / "merges.txt", std::move(special_tokens));
  }
  // special_tokens: the first is the end-of-text (EOS) token. Each takes its id from vocab.json,
  // or, when absent there, the next free id after the vocabulary (as Hugging Face's added tokens).
  static Gpt2Tokenizer load_files(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt,
                                  std::vector<std::string> special_tokens = {"<|endoftext|>"}) {
    if (special_tokens.empty()) fail("Gpt2Tokenizer: needs at least one special token (the first is EOS)");
    Gpt2Tokenizer t;
    t.read_vocab(vocab_json);
    t.read_merges(merges_txt);
    std::vector<SpecialTokenSplitter::Token> specials;
    for (std::string& s : special_tokens) {
      auto it = t.vocab_.find(s);
      std::int32_t id;
      if (it != t.vocab_.end()) {
        id = it->second;
      } else {
        id = static_cast<std::int32_t>(t.token_bytes_.size());
        t.vocab_.emplace(s, id);
        t.token_spelling_.push_back(s);
        t.token_bytes_.push_back(s);
      }
      specials.push_back({std::move(s), id});
    }
    t.specials_ = SpecialTokenSplitter(std::move(specials), "Gpt2Tokenizer");
    t.is_special_.assign(t.token_bytes_.size(), false);
    for (const auto& s : t.specials_.tokens()) {
      t.is_special_[s.id] = true;
      t.token_bytes_[s.id] = s.text;  // decodes as its text, whatever its spelling means as bytes
    }
    return t;
  }

  std::int32_t vocab_size() const { return static_cast<std::int32_t>(token_bytes_.size()); }
  std::int32_t eos_id() const { return specials_.tokens().front().id; }
  bool is_special(std::int32_t id) const { return id >= 0 && id < vocab_size() && is_special_[id]; }

  // Appends the ids of text to out.
  void encode(std::string_view text, std::vector<std::int32_t>& out, Specials mode = Specials::parse) const {
    const auto ordinary = [&](std::string_view s) {
      for_each_gpt2_piece(s, [&](std::string_view piece) { encode_piece(piece, out); });
    };
    if (mode == Specials::as_text) return ordinary(text);
    specials_.split(text, ordinary, [&](std::int32_t id) { out.push_back(id); });
  }
  std::vector<std::int32_t> encode(std::string_view text, Specials mode = Specials::parse) const {
    std::vector<std::int32_t> out;
    out.reserve(text.size() / 3);
    encode(text, out, mode);
    return out;
  }

  // The bytes of the ids, special tokens written as their text.
  std::string decode(std::span<const std::int32_t> ids) const {
    std::string out;
    for (const std::int32_t id : ids) out += token_bytes(id);
    return out;
  }

  // The raw bytes a token stands for (a special token: its text).
  const std::string& token_bytes(std::int32_t id) const {
    if (id < 0 || id >= vocab_size())
      fail("Gpt2Tokenizer: token id ", id, " is outside the vocabulary [0, ", vocab_size(), ")");
    return token_bytes_[id];
  }
  // Tokens as vocab.json spells them ("Ġworld" for " world"), special tokens as their text.
  std::optional<std::int32_t> token_to_id(std::string_view token) const {
    const auto it = vocab_.find(token);
    if (it == vocab_.end()) return std::nullopt;
    return it->second;
  }
  const std::string& id_to_token(std::int32_t id) const {
    if (id < 0 || id >= vocab_size())
      fail("Gpt2Tokenizer::id_to_token: token id ", id, " is outside the vocabulary [0, ", vocab_size(), ")");
    return token_spelling_[id];
  }

  // How many distinct pieces the cache may hold (0: no cache).
  void set_cache_capacity(std::size_t capacity) {
    std::lock_guard lock(cache_.mutex);
    cache_.capacity = capacity;
    cache_.pieces.clear();
  }

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <class V>
  using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

  struct Merge {
    std::int32_t rank;    // line order in merges.txt: lower merges first
    std::int32_t result;  // the id of the merged token
  };
  static std::uint64_t pair_key(std::int32_t left, std::int32_t right) {
    return (std::uint64_t(std::uint32_t(left)) << 32) | std::uint32_t(right);
  }

  // piece -> ids. encode() is const and may run on several threads; the cache is guarded by a
  // mutex that is only ever tried, so a thread that finds it busy computes the merges itself.
  // A copy of a tokenizer starts with an empty cache of the same capacity.
  struct PieceCache {
    std::mutex mutex;
    std::size_t capacity = default_cache_capacity;
    StringMap<std::vector<std::int32_t>> pieces;

    PieceCache() = default;
    PieceCache(const PieceCache& o) : capacity(o.capacity) {}
    PieceCache& operator=(const PieceCache& o) {
      std::lock_guard lock(mutex);
      capacity = o.capacity;
      pieces.clear();
      return *this;
    }
  };

  Gpt2Tokenizer() = default;

  void encode_piece(std::string_view piece, std::vector<std::int32_t>& out) const {
    if (piece.size() == 1) {
      out.push_back(byte_ids_[static_cast<std::uint8_t>(piece[0])]);
      return;
    }
    {
      std::unique_lock lock(cache_.mutex, std::try_to_lock);
      if (lock.owns_lock()) {
        const auto it = cache_.pieces.find(piece);
        if (it != cache_.pieces.end()) {
          out.insert(out.end(), it->second.begin(), it->second.end());
          return;
        }
      }
    }
    const std::size_t first = out.size();
    merge_piece(piece, out);
    std::unique_lock lock(cache_.mutex, std::try_to_lock);
    if (lock.owns_lock() && cache_.capacity > 0) {
      if (cache_.pieces.size() >= cache_.capacity) cache_.pieces.clear();
      cache_.pieces.emplace(std::string(piece), std::vector<std::int32_t>(out.begin() + first, out.end()));
    }
  }

  // BPE on one piece. Tokens live in a linked list over the piece's bytes; a heap holds the
  // candidate merges of adjacent pairs by (rank, position), so the lowest rank goes first and,
  // among equal ranks, the leftmost: O(n log n) even for long pieces (a line of CJK text without
  // spaces is one piece).
  void merge_piece(std::string_view piece, std::vector<std::int32_t>& out) const {
    const int n = static_cast<int>(piece.size());
    struct Token {
      std::int32_t id;
      int prev, next;  // neighbours in the list; -1 / n at the ends
    };
    std::vector<Token> tok(n);
    for (int i = 0; i < n; ++i) tok[i] = {byte_ids_[static_cast<std::uint8_t>(piece[i])], i - 1, i + 1};
    struct Candidate {
      std::int32_t rank;
      int pos;  // the left token of the pair
      std::int32_t left, right, result;
      bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
    const auto consider = [&](int pos) {  // the pair (pos, its next), if it has a merge
      if (pos < 0 || tok[pos].next >= n) return;
      const Token& l = tok[pos];
      const auto it = merges_.find(pair_key(l.id, tok[l.next].id));
      if (it != merges_.end()) heap.push({it->second.rank, pos, l.id, tok[l.next].id, it->second.result});
    };
    for (int i = 0; i + 1 < n; ++i) consider(i);
    while (!heap.empty()) {
      const Candidate c = heap.top();
      heap.pop();
      Token& l = tok[c.pos];
      // Stale if either side has merged since (a removed token has id -1).
      if (l.id != c.left || l.next >= n || tok[l.next].id != c.right) continue;
      const int r = l.next;
      l.id = c.result;
      l.next = tok[r].next;
      if (l.next < n) tok[l.next].prev = c.pos;
      tok[r].id = -1;
      consider(l.prev);
      consider(c.pos);
    }
    for (int i = 0; i < n; i = tok[i].next) out.push_back(tok[i].id);
  }

  static std::string show(const std::filesystem::path& p) { return p.string(); }

  void read_vocab(const std::filesystem::path& path) {
    if (!std::ifstream(path, std::ios::binary)) fail("Gpt2Tokenizer: cannot open vocabulary file ", show(path));
    const nlohmann::json j = files::read_json_file(path);
    if (!j.is_object()) fail(show(path), ": expected a JSON object {token: id, ...}, got a JSON ", j.type_name());
    const std::size_t n = j.size();
    token_spelling_.assign(n, {});
    std::vector<bool> seen(n, false);
    for (const auto& [token, value] : j.items()) {
      if (!value.is_number_integer() || value.get<std::int64_t>() < 0 || value.get<std::int64_t>() >= std::int64_t(n))
        fail(show(path), ": token \"", token, "\" has id ", value.dump(), "; expected an integer in [0, ", n,
             ") (ids must be 0..N-1 for N tokens)");
      const auto id = value.get<std::int32_t>();
      if (seen[id]) fail(show(path), ": tokens \"", token_spelling_[id], "\" and \"", token, "\" share id ", id);
      seen[id] = true;
      token_spelling_[id] = token;
      vocab_.emplace(token, id);
    }
    // Every id is used (n distinct ids in [0, n)), so no check for gaps is needed.
    token_bytes_.resize(n);
    for (std::size_t id = 0; id < n; ++id) {
      // A spelling outside the byte mapping cannot come out of BPE; it decodes as its own text.
      auto bytes = spelling_to_bytes(token_spelling_[id]);
      token_bytes_[id] = bytes ? std::move(*bytes) : token_spelling_[id];
    }
    for (int b = 0; b < 256; ++b) {
      std::string spelling;
      append_utf8(spelling, byte_to_char[b]);
      const auto it = vocab_.find(spelling);
      if (it == vocab_.end())
        fail(show(path), ": no token for byte ", b, " (spelled \"", spelling,
             "\"); a byte-level vocabulary needs all 256");
      byte_ids_[b] = it->second;
    }
  }

  void read_merges(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("Gpt2Tokenizer: cannot open merges file ", show(path));
    std::string line;
    std::int32_t rank = 0;
    for (std::size_t line_no = 1; std::getline(in, line); ++line_no) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || line.starts_with("#version")) continue;
      const std::size_t space = line.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 == line.size() ||
          line.find(' ', space + 1) != std::string::npos)
        fail(show(path), ":", line_no, ": expected two tokens separated by one space, got \"", line, "\"");
      const std::string_view left = std::string_view(line).substr(0, space);
      const std::string_view right = std::string_view(line).substr(space + 1);
      const auto id_of = [&](std::string_view token, const char* what) {
        const auto it = vocab_.find(token);
        if (it == vocab_.end()) fail(show(path), ":", line_no, ": ", what, " \"", token, "\" is not in the vocabulary");
        return it->second;
      };
      const std::int32_t l = id_of(left, "token"), r = id_of(right, "token");
      const std::int32_t result = id_of(std::string(left) + std::string(right), "merged token");
      merges_.insert_or_assign(pair_key(l, r), Merge{rank++, result});  // a repeated pair: the later line wins
    }
  }

  StringMap<std::int32_t> vocab_;             // spelling -> id
  std::vector<std::string> token_spelling_;   // id -> spelling
  std::vector<std::string> token_bytes_;      // id -> raw bytes
  std::vector<bool> is_special_;              // id -> is a special token
  std::array<std::int32_t, 256> byte_ids_{};  // byte -> id of its one-byte token
  std::unordered_map<std::uint64_t, Merge> merges_;
  SpecialTokenSplitter specials_;
  mutable PieceCache cache_;
};

}  // namespace rlhf::data

#pragma once
// Hugging Face BertConfig (config.json), the fields bertfleet uses, with the same defaults.
#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace bertfleet {

struct BertConfig {
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  std::string hidden_act = "gelu";
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double initializer_range = 0.02;
  double layer_norm_eps = 1e-12;
  int64_t pad_token_id = 0;
  double classifier_dropout = -1;  // < 0: null in config.json, use hidden_dropout_prob
  int64_t num_labels = 2;
  std::map<int64_t, std::string> id2label;  // empty: LABEL_0.. as Hugging Face

  // The whole config.json as read, so unknown keys survive a save (Hugging Face keeps them too).
  nlohmann::json raw = nlohmann::json::object();

  // Throws Error naming the file and the key on a missing file, bad JSON, or a bad value.
  static BertConfig FromFile(const std::filesystem::path& config_json);
  static BertConfig FromJson(const nlohmann::json& json, const std::string& source);

  // Applies `model_config_overrides` (e.g. hidden_dropout_prob: 0.0); unknown keys throw.
  void ApplyOverride(const std::string& key, const nlohmann::json& value);

  // config.json for a fine-tuned BertForSequenceClassification (architectures, label maps).
  nlohmann::json ToJson() const;
  double EffectiveClassifierDropout() const {
    return classifier_dropout >= 0 ? classifier_dropout : hidden_dropout_prob;
  }
};

}  // namespace bertfleet

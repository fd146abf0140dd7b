#include "common/model/bert_config.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "common/util/error.h"
#include "common/util/file_io.h"

namespace bertfleet {
namespace {

std::string Where(const std::string& source, const std::string& key) {
  return source + ": " + key + ": ";
}

std::string Short(const nlohmann::json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

int64_t AsInt(const nlohmann::json& value, const std::string& source, const std::string& key) {
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() &&
        value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      throw Error(Where(source, key) + "integer out of range: " + Short(value));
    }
    return value.get<int64_t>();
  }
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.0e15) return static_cast<int64_t>(d);
  }
  throw Error(Where(source, key) + "expected an integer, got " + Short(value));
}

double AsDouble(const nlohmann::json& value, const std::string& source, const std::string& key) {
  if (!value.is_number()) throw Error(Where(source, key) + "expected a number, got " + Short(value));
  const double d = value.get<double>();
  if (!std::isfinite(d)) throw Error(Where(source, key) + "expected a finite number");
  return d;
}

std::string AsString(const nlohmann::json& value, const std::string& source, const std::string& key) {
  if (!value.is_string()) throw Error(Where(source, key) + "expected a string, got " + Short(value));
  return value.get<std::string>();
}

std::map<int64_t, std::string> ParseId2Label(const nlohmann::json& value, const std::string& source) {
  if (!value.is_object() || value.empty()) {
    throw Error(Where(source, "id2label") + "expected a non-empty object {\"0\": \"label\", ...}");
  }
  std::map<int64_t, std::string> labels;
  for (const auto& [key, label] : value.items()) {
    int64_t id = -1;
    size_t used = 0;
    try {
      id = std::stoll(key, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != key.size() || key.empty()) {
      throw Error(Where(source, "id2label") + "key '" + key + "' is not an integer");
    }
    labels[id] = AsString(label, source, "id2label." + key);
  }
  int64_t expected = 0;
  for (const auto& [id, label] : labels) {
    if (id != expected) {
      throw Error(Where(source, "id2label") + "keys must be 0.." + std::to_string(labels.size() - 1) +
                  " (missing " + std::to_string(expected) + ")");
    }
    ++expected;
  }
  return labels;
}

// Sets one known field; returns false when `key` is not a field bertfleet interprets.
bool SetField(BertConfig& c, const std::string& key, const nlohmann::json& v, const std::string& source) {
  if (key == "vocab_size") c.vocab_size = AsInt(v, source, key);
  else if (key == "hidden_size") c.hidden_size = AsInt(v, source, key);
  else if (key == "num_hidden_layers") c.num_hidden_layers = AsInt(v, source, key);
  else if (key == "num_attention_heads") c.num_attention_heads = AsInt(v, source, key);
  else if (key == "intermediate_size") c.intermediate_size = AsInt(v, source, key);
  else if (key == "hidden_act") c.hidden_act = AsString(v, source, key);
  else if (key == "hidden_dropout_prob") c.hidden_dropout_prob = AsDouble(v, source, key);
  else if (key == "attention_probs_dropout_prob") c.attention_probs_dropout_prob = AsDouble(v, source, key);
  else if (key == "max_position_embeddings") c.max_position_embeddings = AsInt(v, source, key);
  else if (key == "type_vocab_size") c.type_vocab_size = AsInt(v, source, key);
  else if (key == "initializer_range") c.initializer_range = AsDouble(v, source, key);
  else if (key == "layer_norm_eps") c.layer_norm_eps = AsDouble(v, source, key);
  else if (key == "pad_token_id") c.pad_token_id = v.is_null() ? -1 : AsInt(v, source, key);
  else if (key == "classifier_dropout") c.classifier_dropout = v.is_null() ? -1 : AsDouble(v, source, key);
  else if (key == "num_labels") {
    c.num_labels = AsInt(v, source, key);
    if (!c.id2label.empty() && static_cast<int64_t>(c.id2label.size()) != c.num_labels) c.id2label.clear();
  } else if (key == "id2label") {
    if (v.is_null()) return true;  // Hugging Face: null means LABEL_0..LABEL_{num_labels-1}
    c.id2label = ParseId2Label(v, source);
    c.num_labels = static_cast<int64_t>(c.id2label.size());
  } else {
    return false;
  }
  return true;
}

void Validate(const BertConfig& c, const std::string& source) {
  auto positive = [&](int64_t value, const char* key) {
    if (value <= 0) throw Error(Where(source, key) + "must be positive, got " + std::to_string(value));
  };
  positive(c.vocab_size, "vocab_size");
  positive(c.hidden_size, "hidden_size");
  positive(c.num_hidden_layers, "num_hidden_layers");
  positive(c.num_attention_heads, "num_attention_heads");
  positive(c.intermediate_size, "intermediate_size");
  positive(c.max_position_embeddings, "max_position_embeddings");
  positive(c.type_vocab_size, "type_vocab_size");
  positive(c.num_labels, "num_labels");
  if (c.hidden_size % c.num_attention_heads != 0) {
    throw Error(Where(source, "hidden_size") + "hidden_size (" + std::to_string(c.hidden_size) +
                ") is not a multiple of num_attention_heads (" +
                std::to_string(c.num_attention_heads) + ")");
  }
  if (c.hidden_act != "gelu") {
    throw Error(Where(source, "hidden_act") + "'" + c.hidden_act +
                "' is not supported (bertfleet implements \"gelu\", the exact erf GELU)");
  }
  auto probability = [&](double p, const char* key) {
    if (!(p >= 0.0 && p < 1.0)) {
      throw Error(Where(source, key) + "must be in [0, 1), got " + std::to_string(p));
    }
  };
  probability(c.hidden_dropout_prob, "hidden_dropout_prob");
  probability(c.attention_probs_dropout_prob, "attention_probs_dropout_prob");
  if (c.classifier_dropout >= 0) probability(c.classifier_dropout, "classifier_dropout");
  if (!(c.initializer_range >= 0)) throw Error(Where(source, "initializer_range") + "must be >= 0");
  if (!(c.layer_norm_eps > 0)) throw Error(Where(source, "layer_norm_eps") + "must be > 0");
  if (c.pad_token_id < -1 || c.pad_token_id >= c.vocab_size) {
    throw Error(Where(source, "pad_token_id") + std::to_string(c.pad_token_id) +
                " is outside the vocabulary [0, " + std::to_string(c.vocab_size) + ")");
  }
  if (!c.id2label.empty() && static_cast<int64_t>(c.id2label.size()) != c.num_labels) {
    throw Error(Where(source, "id2label") + "has " + std::to_string(c.id2label.size()) +
                " labels but num_labels is " + std::to_string(c.num_labels));
  }
}

// Keys whose values would change the architecture in ways bertfleet does not implement.
void CheckUnsupportedRaw(const nlohmann::json& json, const std::string& source) {
  if (json.contains("position_embedding_type") && json["position_embedding_type"] != "absolute") {
    throw Error(Where(source, "position_embedding_type") + Short(json["position_embedding_type"]) +
                " is not supported (only \"absolute\")");
  }
  for (const char* key : {"is_decoder", "add_cross_attention"}) {
    if (json.contains(key) && json[key] == true) {
      throw Error(Where(source, key) + "true is not supported (encoder-only BERT)");
    }
  }
  if (json.contains("model_type") && json["model_type"].is_string() && json["model_type"] != "bert") {
    throw Error(Where(source, "model_type") + Short(json["model_type"]) +
                " is not a BERT model (expected \"bert\")");
  }
}

}  // namespace

BertConfig BertConfig::FromFile(const std::filesystem::path& config_json) {
  const std::string text = ReadFileToString(config_json);
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(config_json.string() + ": invalid JSON: " + e.what());
  }
  return FromJson(json, config_json.string());
}

BertConfig BertConfig::FromJson(const nlohmann::json& json, const std::string& source) {
  if (!json.is_object()) throw Error(source + ": expected a JSON object");
  CheckUnsupportedRaw(json, source);
  BertConfig config;
  // num_labels first, id2label afterwards: like Hugging Face, id2label wins when both are given.
  if (json.contains("num_labels")) SetField(config, "num_labels", json["num_labels"], source);
  for (const auto& [key, value] : json.items()) {
    if (key == "num_labels") continue;
    SetField(config, key, value, source);
  }
  Validate(config, source);
  config.raw = json;
  return config;
}

void BertConfig::ApplyOverride(const std::string& key, const nlohmann::json& value) {
  const std::string source = "model_config_overrides";
  BertConfig updated = *this;
  if (!SetField(updated, key, value, source)) {
    throw Error(Where(source, key) +
                "unknown config key (known: vocab_size, hidden_size, num_hidden_layers, "
                "num_attention_heads, intermediate_size, hidden_act, hidden_dropout_prob, "
                "attention_probs_dropout_prob, max_position_embeddings, type_vocab_size, "
                "initializer_range, layer_norm_eps, pad_token_id, classifier_dropout, num_labels, "
                "id2label)");
  }
  Validate(updated, source);
  updated.raw[key] = value;
  if (key == "id2label" || key == "num_labels") {
    updated.raw.erase("label2id");
    updated.raw.erase("num_labels");
    updated.raw.erase("id2label");
  }
  *this = std::move(updated);
}

nlohmann::json BertConfig::ToJson() const {
  nlohmann::json j = raw.is_object() ? raw : nlohmann::json::object();
  j["architectures"] = nlohmann::json::array({"BertForSequenceClassification"});
  j["model_type"] = "bert";
  j["vocab_size"] = vocab_size;
  j["hidden_size"] = hidden_size;
  j["num_hidden_layers"] = num_hidden_layers;
  j["num_attention_heads"] = num_attention_heads;
  j["intermediate_size"] = intermediate_size;
  j["hidden_act"] = hidden_act;
  j["hidden_dropout_prob"] = hidden_dropout_prob;
  j["attention_probs_dropout_prob"] = attention_probs_dropout_prob;
  j["max_position_embeddings"] = max_position_embeddings;
  j["type_vocab_size"] = type_vocab_size;
  j["initializer_range"] = initializer_range;
  j["layer_norm_eps"] = layer_norm_eps;
  j["pad_token_id"] = pad_token_id >= 0 ? nlohmann::json(pad_token_id) : nlohmann::json(nullptr);
  j["classifier_dropout"] =
      classifier_dropout >= 0 ? nlohmann::json(classifier_dropout) : nlohmann::json(nullptr);
  if (!j.contains("position_embedding_type")) j["position_embedding_type"] = "absolute";
  j["torch_dtype"] = "float32";
  nlohmann::json id2label_json = nlohmann::json::object();
  nlohmann::json label2id_json = nlohmann::json::object();
  for (int64_t i = 0; i < num_labels; ++i) {
    auto found = id2label.find(i);
    const std::string name = found != id2label.end() ? found->second : "LABEL_" + std::to_string(i);
    id2label_json[std::to_string(i)] = name;
    label2id_json[name] = i;
  }
  j["id2label"] = id2label_json;
  j["label2id"] = label2id_json;
  j.erase("num_labels");  // implied by id2label, as Hugging Face writes it
  return j;
}

}  // namespace bertfleet

#include "worker/engine/checkpoint/pretrained.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include "common/util/error.h"
#include "common/util/file_io.h"
#include "worker/engine/checkpoint/safetensors_io.h"

namespace bertfleet {
namespace {

namespace fs = std::filesystem;

std::string PythonList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += "'" + items[i] + "'";
  }
  return out + "]";
}

std::string ShapeString(torch::IntArrayRef shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A checkpoint's tensors, each tagged with the file it came from (shards differ).
struct CheckpointTensor {
  std::string name;
  torch::Tensor tensor;
  std::string file;
};

// torch.save() output (the zip format of PyTorch >= 1.6) holding a flat {name: tensor} dict.
std::vector<CheckpointTensor> LoadTorchBin(const fs::path& path) {
  std::vector<char> bytes;
  {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) throw Error(path.string() + ": cannot open");
    bytes.resize(static_cast<size_t>(in.tellg()));
    in.seekg(0);
    if (!in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) throw Error(path.string() + ": read failed");
  }
  torch::IValue value;
  try {
    value = torch::pickle_load(bytes);
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    const bool zip = bytes.size() >= 4 && std::string(bytes.data(), 4) == std::string("PK\x03\x04", 4);
    throw Error(path.string() + ": cannot read PyTorch checkpoint" +
                (zip ? std::string(" (corrupt or truncated zip archive?)")
                     : std::string(" (not the zip format torch.save has written since PyTorch 1.6; "
                                   "legacy pickle checkpoints are not supported: convert to "
                                   "model.safetensors)")) +
                ": " + what.substr(0, 300));
  }
  if (!value.isGenericDict()) throw Error(path.string() + ": expected a dict of tensors (a state_dict)");
  std::vector<CheckpointTensor> out;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString()) throw Error(path.string() + ": state_dict has a non-string key");
    const std::string name = entry.key().toStringRef();
    if (!entry.value().isTensor()) {
      throw Error(path.string() + ": state_dict entry '" + name + "' is not a tensor");
    }
    out.push_back({name, entry.value().toTensor(), path.string()});
  }
  return out;
}

std::vector<CheckpointTensor> LoadSafetensorsFile(const fs::path& path) {
  SafetensorsContents contents = LoadSafetensors(path);
  std::vector<CheckpointTensor> out;
  out.reserve(contents.tensors.size());
  for (auto& [name, tensor] : contents.tensors) out.push_back({name, std::move(tensor), path.string()});
  return out;
}

// model.safetensors.index.json: {"weight_map": {"tensor": "shard file", ...}}.
std::vector<CheckpointTensor> LoadSafetensorsShards(const fs::path& index_path) {
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(ReadFileToString(index_path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(index_path.string() + ": invalid JSON: " + e.what());
  }
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    throw Error(index_path.string() + ": weight_map: missing or not an object");
  }
  std::set<std::string> shards;
  for (const auto& [tensor, shard] : index["weight_map"].items()) {
    if (!shard.is_string()) throw Error(index_path.string() + ": weight_map." + tensor + ": not a file name");
    const std::string file = shard.get<std::string>();
    if (file.empty() || file.find('/') != std::string::npos || file == "..") {
      throw Error(index_path.string() + ": weight_map." + tensor + ": bad shard name '" + file + "'");
    }
    shards.insert(file);
  }
  std::vector<CheckpointTensor> out;
  for (const auto& shard : shards) {
    auto part = LoadSafetensorsFile(index_path.parent_path() / shard);
    std::move(part.begin(), part.end(), std::back_inserter(out));
  }
  return out;
}

}  // namespace

std::string LoadReport::Describe() const {
  const std::string at = checkpoint.empty() ? weights_file : checkpoint;
  std::string text;
  if (!unexpected_keys.empty()) {
    text += "Some weights of the model checkpoint at " + at +
            " were not used when initializing BertForSequenceClassification: " + PythonList(unexpected_keys) +
            "\n- This IS expected if you are initializing BertForSequenceClassification from the checkpoint of "
            "a model trained on another task or with another architecture (e.g. initializing a "
            "BertForSequenceClassification model from a BertForPreTraining model).\n- This IS NOT expected if "
            "you are initializing BertForSequenceClassification from the checkpoint of a model that you "
            "expect to be exactly identical (initializing a BertForSequenceClassification model from a "
            "BertForSequenceClassification model).";
  }
  if (!missing_keys.empty()) {
    if (!text.empty()) text += "\n";
    text += "Some weights of BertForSequenceClassification were not initialized from the model checkpoint at " +
            at + " and are newly initialized: " + PythonList(missing_keys) +
            "\nYou should probably TRAIN this model on a down-stream task to be able to use it for "
            "predictions and inference.";
  }
  return text;
}

LoadedModel LoadPretrained(const fs::path& dir, uint64_t seed, const nlohmann::json& config_overrides) {
  if (!fs::is_directory(dir)) throw Error(dir.string() + ": model directory not found");
  LoadedModel loaded;
  loaded.config = BertConfig::FromFile(dir / "config.json");
  if (!config_overrides.is_null()) {
    if (!config_overrides.is_object()) throw Error("model_config_overrides: expected an object");
    for (const auto& [key, value] : config_overrides.items()) loaded.config.ApplyOverride(key, value);
  }

  std::vector<CheckpointTensor> tensors;
  if (fs::exists(dir / "model.safetensors")) {
    loaded.report.weights_file = (dir / "model.safetensors").string();
    tensors = LoadSafetensorsFile(dir / "model.safetensors");
  } else if (fs::exists(dir / "model.safetensors.index.json")) {
    loaded.report.weights_file = (dir / "model.safetensors.index.json").string();
    tensors = LoadSafetensorsShards(dir / "model.safetensors.index.json");
  } else if (fs::exists(dir / "pytorch_model.bin")) {
    loaded.report.weights_file = (dir / "pytorch_model.bin").string();
    tensors = LoadTorchBin(dir / "pytorch_model.bin");
  } else {
    throw Error(dir.string() + ": no weights (looked for model.safetensors, model.safetensors.index.json, "
                "pytorch_model.bin)");
  }
  loaded.report.checkpoint = dir.string();

  loaded.model = BertForSequenceClassification(loaded.config, /*initialize=*/false);
  auto parameters = loaded.model->named_parameters();
  std::set<std::string> filled;
  std::set<std::string> unexpected;
  torch::NoGradGuard no_grad;
  for (auto& entry : tensors) {
    std::string name = entry.name;
    // Legacy TensorFlow-era names, renamed by Hugging Face on load as well.
    if (EndsWith(name, ".gamma")) name = name.substr(0, name.size() - 6) + ".weight";
    if (EndsWith(name, ".beta")) name = name.substr(0, name.size() - 5) + ".bias";
    // A persistent buffer in older checkpoints; the model derives positions itself.
    if (name == "embeddings.position_ids" || name == "bert.embeddings.position_ids") continue;
    torch::Tensor* parameter = parameters.find(name);
    if (parameter == nullptr) {
      name = "bert." + name;  // a bare BertModel checkpoint
      parameter = parameters.find(name);
    }
    if (parameter == nullptr || filled.count(name) > 0) {
      unexpected.insert(entry.name);
      continue;
    }
    const torch::Tensor& source = entry.tensor;
    if (source.sizes() != parameter->sizes()) {
      throw Error(entry.file + ": tensor '" + entry.name + "' has shape " + ShapeString(source.sizes()) +
                  " but the model (" + (dir / "config.json").string() + ") expects " +
                  ShapeString(parameter->sizes()) + " for " + name);
    }
    if (!source.is_floating_point()) {
      throw Error(entry.file + ": tensor '" + entry.name + "' has dtype " +
                  std::string(c10::toString(source.scalar_type())) + ", expected a floating-point type");
    }
    parameter->copy_(source);
    filled.insert(name);
    entry.tensor = torch::Tensor();  // free as we go
  }
  for (const auto& item : parameters) {
    if (filled.count(item.key()) == 0) loaded.report.missing_keys.push_back(item.key());
  }
  std::sort(loaded.report.missing_keys.begin(), loaded.report.missing_keys.end());
  loaded.report.unexpected_keys.assign(unexpected.begin(), unexpected.end());
  if (!loaded.report.missing_keys.empty()) loaded.model->InitWeights(seed, loaded.report.missing_keys);
  return loaded;
}

void CheckVocabMatchesModel(int64_t tokenizer_vocab_size, const BertConfig& config, const std::string& where) {
  if (tokenizer_vocab_size > config.vocab_size) {
    throw Error(where + ": the tokenizer has " + std::to_string(tokenizer_vocab_size) +
                " tokens but the model's vocab_size is " + std::to_string(config.vocab_size) +
                " (config.json): token ids >= " + std::to_string(config.vocab_size) +
                " have no embedding; use the tokenizer that belongs to the model");
  }
}

void SavePretrained(BertForSequenceClassification& model, const BertConfig& config,
                    const fs::path& tokenizer_dir, const fs::path& out_dir) {
  const BertConfig& built = model->config();
  if (built.vocab_size != config.vocab_size || built.hidden_size != config.hidden_size ||
      built.num_hidden_layers != config.num_hidden_layers || built.num_labels != config.num_labels ||
      built.intermediate_size != config.intermediate_size ||
      built.max_position_embeddings != config.max_position_embeddings ||
      built.type_vocab_size != config.type_vocab_size || built.num_attention_heads != config.num_attention_heads) {
    throw Error(out_dir.string() + ": SavePretrained: the config does not describe the model's architecture");
  }
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) throw Error(out_dir.string() + ": cannot create directory: " + ec.message());

  NamedTensors tensors;
  {
    torch::NoGradGuard no_grad;
    for (const auto& item : model->named_parameters()) {
      tensors.emplace_back(item.key(), item.value().detach().to(torch::kCPU, torch::kFloat).contiguous());
    }
  }
  SaveSafetensors(out_dir / "model.safetensors", tensors, {{"format", "pt"}});
  WriteFileAtomically(out_dir / "config.json", config.ToJson().dump(2) + "\n");

  if (tokenizer_dir.empty()) return;
  for (const char* file : {"vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) {
    const fs::path from = tokenizer_dir / file;
    const fs::path to = out_dir / file;
    if (!fs::exists(from)) continue;
    if (fs::exists(to) && fs::equivalent(from, to, ec)) continue;
    WriteFileAtomically(to, ReadFileToString(from));
  }
}

}  // namespace bertfleet

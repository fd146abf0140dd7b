#pragma once
// Loading and saving Hugging Face model directories.
#include <filesystem>
#include <string>
#include <vector>

#include "worker/engine/model/bert_model.h"

namespace bertfleet {

struct LoadReport {
  std::vector<std::string> missing_keys;     // newly initialised (e.g. classifier.*)
  std::vector<std::string> unexpected_keys;  // in the file but not in the model (ignored)
  std::string weights_file;
  std::string checkpoint;  // the directory as given, named in Describe() like Hugging Face does
  std::string Describe() const;  // Hugging Face-style warning text, empty if nothing to say
};

struct LoadedModel {
  BertForSequenceClassification model{nullptr};
  BertConfig config;
  LoadReport report;
};

// Loads config.json + model.safetensors (or pytorch_model.bin) from `dir`; keys with or without
// the `bert.` prefix; missing classifier.* initialised as Hugging Face does (normal(0, range),
// zero bias) from `seed`. Config overrides are applied before the model is built.
// Throws Error naming the file and tensor on a truncated/corrupt file or a shape mismatch.
LoadedModel LoadPretrained(const std::filesystem::path& dir, uint64_t seed,
                           const nlohmann::json& config_overrides = nlohmann::json::object());

// Throws Error (naming `where`) when the tokenizer can produce ids the model has no embedding
// for, i.e. tokenizer_vocab_size > config.vocab_size. A smaller tokenizer vocabulary is fine.
void CheckVocabMatchesModel(int64_t tokenizer_vocab_size, const BertConfig& config, const std::string& where);

// Writes config.json (architectures, id2label/label2id), model.safetensors (fp32, Hugging Face
// names) and copies the tokenizer files (vocab.txt, tokenizer.json, tokenizer_config.json,
// special_tokens_map.json) found in `tokenizer_dir`. Files are written atomically.
void SavePretrained(BertForSequenceClassification& model, const BertConfig& config,
                    const std::filesystem::path& tokenizer_dir, const std::filesystem::path& out_dir);

}  // namespace bertfleet

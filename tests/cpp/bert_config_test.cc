#include "error_of.h"
#include "common/model/bert_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/util/error.h"

namespace bertfleet {
namespace {

using ::testing::HasSubstr;

using testing::ErrorOf;

TEST(BertConfig, DefaultsAreHuggingFaces) {
  const BertConfig c = BertConfig::FromJson(nlohmann::json::object(), "config.json");
  EXPECT_EQ(c.vocab_size, 30522);
  EXPECT_EQ(c.hidden_size, 768);
  EXPECT_EQ(c.num_hidden_layers, 12);
  EXPECT_EQ(c.num_attention_heads, 12);
  EXPECT_EQ(c.intermediate_size, 3072);
  EXPECT_EQ(c.max_position_embeddings, 512);
  EXPECT_EQ(c.type_vocab_size, 2);
  EXPECT_DOUBLE_EQ(c.layer_norm_eps, 1e-12);
  EXPECT_DOUBLE_EQ(c.EffectiveClassifierDropout(), 0.1);
  EXPECT_EQ(c.num_labels, 2);
  EXPECT_TRUE(c.id2label.empty());
}

TEST(BertConfig, ParsesMiniLmStyleConfigAndKeepsUnknownKeys) {
  const auto json = nlohmann::json::parse(R"({
    "_name_or_path": "nreimers/MiniLM-L6-H384-uncased", "architectures": ["BertModel"],
    "attention_probs_dropout_prob": 0.1, "gradient_checkpointing": false, "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1, "hidden_size": 384, "initializer_range": 0.02, "intermediate_size": 1536,
    "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert", "num_attention_heads": 12,
    "num_hidden_layers": 6, "pad_token_id": 0, "position_embedding_type": "absolute",
    "transformers_version": "4.8.2", "type_vocab_size": 2, "use_cache": true, "vocab_size": 30522,
    "classifier_dropout": null})");
  const BertConfig c = BertConfig::FromJson(json, "minilm/config.json");
  EXPECT_EQ(c.hidden_size, 384);
  EXPECT_EQ(c.num_hidden_layers, 6);
  EXPECT_LT(c.classifier_dropout, 0);
  const nlohmann::json out = c.ToJson();
  EXPECT_EQ(out["architectures"], nlohmann::json::array({"BertForSequenceClassification"}));
  EXPECT_EQ(out["model_type"], "bert");
  EXPECT_EQ(out["gradient_checkpointing"], false);
  EXPECT_EQ(out["_name_or_path"], "nreimers/MiniLM-L6-H384-uncased");
  EXPECT_TRUE(out["classifier_dropout"].is_null());
  EXPECT_EQ(out["id2label"], nlohmann::json({{"0", "LABEL_0"}, {"1", "LABEL_1"}}));
  EXPECT_EQ(out["label2id"], nlohmann::json({{"LABEL_0", 0}, {"LABEL_1", 1}}));
  EXPECT_FALSE(out.contains("num_labels"));
  // ToJson round-trips.
  const BertConfig again = BertConfig::FromJson(out, "x");
  EXPECT_EQ(again.hidden_size, 384);
  EXPECT_EQ(again.num_labels, 2);
}

TEST(BertConfig, LabelsFromId2LabelOrNumLabels) {
  BertConfig c = BertConfig::FromJson({{"id2label", {{"1", "yes"}, {"0", "no"}, {"2", "maybe"}}}, {"num_labels", 2}}, "x");
  EXPECT_EQ(c.num_labels, 3);  // id2label wins, as in Hugging Face
  EXPECT_EQ(c.id2label.at(1), "yes");
  EXPECT_EQ(c.ToJson()["label2id"]["maybe"], 2);
  c = BertConfig::FromJson({{"num_labels", 4}}, "x");
  EXPECT_EQ(c.num_labels, 4);
  EXPECT_EQ(c.ToJson()["id2label"]["3"], "LABEL_3");
  EXPECT_THAT(ErrorOf([] { BertConfig::FromJson({{"id2label", {{"0", "a"}, {"2", "b"}}}}, "c.json"); }),
              HasSubstr("c.json: id2label: keys must be 0..1"));
  EXPECT_THAT(ErrorOf([] { BertConfig::FromJson({{"id2label", {{"x", "a"}}}}, "c.json"); }),
              HasSubstr("c.json: id2label: key 'x' is not an integer"));
}

TEST(BertConfig, ValidationErrorsNameFileAndKey) {
  auto error = [](nlohmann::json j) { return ErrorOf([&] { BertConfig::FromJson(j, "m/config.json"); }); };
  EXPECT_THAT(error({{"hidden_size", 100}, {"num_attention_heads", 12}}),
              HasSubstr("m/config.json: hidden_size: hidden_size (100) is not a multiple of num_attention_heads (12)"));
  EXPECT_THAT(error({{"hidden_act", "gelu_new"}}), HasSubstr("m/config.json: hidden_act: 'gelu_new' is not supported"));
  EXPECT_THAT(error({{"hidden_size", "768"}}), HasSubstr("m/config.json: hidden_size: expected an integer"));
  EXPECT_THAT(error({{"hidden_size", 768.5}}), HasSubstr("m/config.json: hidden_size: expected an integer"));
  EXPECT_THAT(error({{"num_hidden_layers", 0}}), HasSubstr("m/config.json: num_hidden_layers: must be positive"));
  EXPECT_THAT(error({{"hidden_dropout_prob", 1.0}}), HasSubstr("m/config.json: hidden_dropout_prob: must be in [0, 1)"));
  EXPECT_THAT(error({{"layer_norm_eps", 0}}), HasSubstr("m/config.json: layer_norm_eps: must be > 0"));
  EXPECT_THAT(error({{"pad_token_id", 40000}}), HasSubstr("m/config.json: pad_token_id: 40000 is outside the vocabulary"));
  EXPECT_THAT(error({{"position_embedding_type", "relative_key"}}), HasSubstr("m/config.json: position_embedding_type"));
  EXPECT_THAT(error({{"model_type", "roberta"}}), HasSubstr("m/config.json: model_type"));
  EXPECT_THAT(error(nlohmann::json::array()), HasSubstr("m/config.json: expected a JSON object"));
  EXPECT_EQ(BertConfig::FromJson({{"hidden_size", 768.0}}, "x").hidden_size, 768);  // integral floats are fine
}

TEST(BertConfig, FromFileErrors) {
  const auto dir = std::filesystem::temp_directory_path() / ("bert_config_test." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  EXPECT_THAT(ErrorOf([&] { BertConfig::FromFile(dir / "config.json"); }), HasSubstr((dir / "config.json").string()));
  std::ofstream(dir / "config.json") << "{\"hidden_size\": ";
  EXPECT_THAT(ErrorOf([&] { BertConfig::FromFile(dir / "config.json"); }),
              HasSubstr((dir / "config.json").string() + ": invalid JSON"));
  std::filesystem::remove_all(dir);
}

TEST(BertConfig, Overrides) {
  BertConfig c;
  c.ApplyOverride("hidden_dropout_prob", 0.0);
  c.ApplyOverride("classifier_dropout", 0.2);
  EXPECT_EQ(c.hidden_dropout_prob, 0.0);
  EXPECT_DOUBLE_EQ(c.EffectiveClassifierDropout(), 0.2);
  c.ApplyOverride("classifier_dropout", nullptr);
  EXPECT_DOUBLE_EQ(c.EffectiveClassifierDropout(), 0.0);
  c.ApplyOverride("num_labels", 3);
  EXPECT_EQ(c.num_labels, 3);
  EXPECT_EQ(c.ToJson()["id2label"].size(), 3u);
  c.ApplyOverride("id2label", {{"0", "not_equivalent"}, {"1", "equivalent"}});
  EXPECT_EQ(c.num_labels, 2);
  EXPECT_EQ(c.ToJson()["id2label"]["1"], "equivalent");
  EXPECT_THAT(ErrorOf([&] { c.ApplyOverride("hidden_dropout", 0.0); }),
              HasSubstr("model_config_overrides: hidden_dropout: unknown config key"));
  EXPECT_THAT(ErrorOf([&] { c.ApplyOverride("hidden_dropout_prob", "0.1"); }),
              HasSubstr("model_config_overrides: hidden_dropout_prob: expected a number"));
  EXPECT_THAT(ErrorOf([&] { c.ApplyOverride("attention_probs_dropout_prob", 2.0); }),
              HasSubstr("model_config_overrides: attention_probs_dropout_prob: must be in [0, 1)"));
  EXPECT_EQ(c.attention_probs_dropout_prob, 0.1);  // a rejected override changes nothing
}

}  // namespace
}  // namespace bertfleet

#include "common/config/job_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "common/util/error.h"
#include "common/util/file_io.h"

namespace bertfleet {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

const std::filesystem::path kSourceDir = BERTFLEET_SOURCE_DIR;

// The error message ParseJobSpec gives for `yaml`, or "" when it parses.
std::string ParseError(const std::string& yaml) {
  try {
    ParseJobSpec(yaml, "job.yaml");
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

std::string OverrideError(JobSpec& spec, const std::vector<std::string>& assignments) {
  try {
    ApplyJobSpecOverrides(spec, assignments, "job.yaml");
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

TEST(JobSpecDefaults, MatchHuggingFaceTrainingArguments) {
  // tests/python/test_job_spec_defaults.py keeps this file equal to what transformers declares.
  const auto oracle = nlohmann::json::parse(
      ReadFileToString(kSourceDir / "tests/data/hf_training_arguments_defaults.json"))["defaults"];
  // Hugging Face's None, spelt as JobSpec spells "unset".
  const nlohmann::json unset = {{"data_seed", -1},
                                {"eval_steps", -1},
                                {"save_total_limit", -1},
                                {"metric_for_best_model", ""},
                                {"greater_is_better", nullptr},
                                {"resume_from_checkpoint", ""},
                                // None: DistributedDataParallel's own default, 25 MiB.
                                {"ddp_bucket_cap_mb", 25},
                                {"run_name", ""},
                                {"logging_dir", ""},
                                // None means every installed integration in 4.46 (none from v5):
                                // bertfleet's default is v5's, so nothing is reported unasked.
                                {"report_to", "none"}};
  const nlohmann::json ours = JobSpec{}.ToJson();
  int compared = 0;
  for (const auto& [key, value] : ours.items()) {
    if (!oracle.contains(key)) continue;
    ++compared;
    const nlohmann::json& expected = oracle[key].is_null() ? unset.at(key) : oracle[key];
    if (expected.is_number() && value.is_number()) {
      EXPECT_EQ(value.get<double>(), expected.get<double>()) << key;
    } else {
      EXPECT_EQ(value, expected) << key;
    }
  }
  EXPECT_EQ(compared, 34) << "every TrainingArguments name in JobSpec is compared";
}

TEST(JobSpecDefaults, ParseEmptyMappingGivesDefaults) {
  EXPECT_EQ(ParseJobSpec("{}", "job.yaml").ToJson(), JobSpec{}.ToJson());
  EXPECT_EQ(JobSpec{}.max_seq_length, 128);  // run_glue's default
}

TEST(JobSpecToJson, HasEveryKeyAndRoundTrips) {
  const std::set<std::string> expected_keys = {"model",
                                               "task",
                                               "data",
                                               "train_file",
                                               "validation_file",
                                               "test_file",
                                               "text_column_names",
                                               "label_column_name",
                                               "do_regression",
                                               "max_seq_length",
                                               "max_train_samples",
                                               "max_eval_samples",
                                               "model_config_overrides",
                                               "learning_rate",
                                               "weight_decay",
                                               "adam_beta1",
                                               "adam_beta2",
                                               "adam_epsilon",
                                               "max_grad_norm",
                                               "num_train_epochs",
                                               "max_steps",
                                               "lr_scheduler_type",
                                               "warmup_ratio",
                                               "warmup_steps",
                                               "per_device_train_batch_size",
                                               "per_device_eval_batch_size",
                                               "gradient_accumulation_steps",
                                               "seed",
                                               "data_seed",
                                               "bf16",
                                               "fp16",
                                               "eval_strategy",
                                               "eval_steps",
                                               "save_strategy",
                                               "save_steps",
                                               "save_total_limit",
                                               "load_best_model_at_end",
                                               "metric_for_best_model",
                                               "greater_is_better",
                                               "logging_steps",
                                               "group_by_length",
                                               "dataloader_drop_last",
                                               "resume_from_checkpoint",
                                               "ddp_bucket_cap_mb",
                                               "report_to",
                                               "run_name",
                                               "logging_dir",
                                               "world_size",
                                               "min_world_size",
                                               "threads",
                                               "device",
                                               "priority",
                                               "max_restarts"};
  JobSpec spec = ParseJobSpec(R"(
model: /models/bert "base"
learning_rate: 3.0e-5
num_train_epochs: 2.5
greater_is_better: false
metric_for_best_model: f1
model_config_overrides: {hidden_dropout_prob: 0.0, classifier_dropout: null, note: "x"}
)",
                              "job.yaml");
  const nlohmann::json json = spec.ToJson();
  std::set<std::string> keys;
  for (const auto& item : json.items()) keys.insert(item.key());
  EXPECT_EQ(keys, expected_keys);
  // JSON is YAML, so what ToJson writes (to checkpoints, to the coordinator) parses back.
  EXPECT_EQ(ParseJobSpec(json.dump(), "checkpoint").ToJson(), json);
}

TEST(JobSpecParse, MinWorldSizeDefaultsToWorldSizeAndNeverExceedsIt) {
  EXPECT_EQ(ParseJobSpec("world_size: 3\n", "job.yaml").EffectiveMinWorldSize(), 3);
  EXPECT_EQ(ParseJobSpec("world_size: 3\nmin_world_size: 1\n", "job.yaml").EffectiveMinWorldSize(), 1);
  try {
    ParseJobSpec("world_size: 2\nmin_world_size: 3\n", "job.yaml");
    FAIL() << "min_world_size above world_size was accepted";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("min_world_size"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("must not exceed world_size (got min_world_size 3, world_size 2)"),
              std::string::npos)
        << error.what();
  }
}

TEST(JobSpecParse, ReadsEveryType) {
  const JobSpec spec = ParseJobSpec(R"(
model: bert-base-uncased
data: /data/mrpc
max_seq_length: 256
learning_rate: 1e-5      # YAML 1.2 float without a dot
weight_decay: 0          # an integer is a fine float
num_train_epochs: 3
per_device_train_batch_size: 32
bf16: true
fp16: False
eval_strategy: steps
eval_steps: 100
save_steps: 200
logging_steps: 50
data_seed: ~
greater_is_better: true
world_size: 4
threads: 2
device: cpu
priority: -5
)",
                                    "job.yaml");
  EXPECT_EQ(spec.model, "bert-base-uncased");
  EXPECT_EQ(spec.data, "/data/mrpc");
  EXPECT_EQ(spec.max_seq_length, 256);
  EXPECT_DOUBLE_EQ(spec.learning_rate, 1e-5);
  EXPECT_EQ(spec.weight_decay, 0.0);
  EXPECT_EQ(spec.num_train_epochs, 3.0);
  EXPECT_EQ(spec.per_device_train_batch_size, 32);
  EXPECT_TRUE(spec.bf16);
  EXPECT_FALSE(spec.fp16);
  EXPECT_EQ(spec.eval_strategy, "steps");
  EXPECT_EQ(spec.eval_steps, 100);
  EXPECT_EQ(spec.data_seed, -1);
  EXPECT_EQ(spec.greater_is_better, std::optional<bool>(true));
  EXPECT_EQ(spec.world_size, 4);
  EXPECT_EQ(spec.priority, -5);
}

TEST(JobSpecParse, ExamplesParse) {
  const JobSpec bert = LoadJobSpecFile((kSourceDir / "examples/mrpc-bert-base.yaml").string());
  EXPECT_EQ(bert.model, "bert-base-uncased");
  EXPECT_DOUBLE_EQ(bert.learning_rate, 2e-5);
  EXPECT_EQ(bert.per_device_train_batch_size, 16);
  EXPECT_EQ(bert.per_device_eval_batch_size, 16);
  EXPECT_EQ(bert.num_train_epochs, 3.0);
  EXPECT_DOUBLE_EQ(bert.weight_decay, 0.1);
  EXPECT_EQ(bert.eval_strategy, "epoch");
  EXPECT_EQ(bert.save_strategy, "epoch");
  EXPECT_TRUE(bert.load_best_model_at_end);
  EXPECT_EQ(bert.max_seq_length, 512);
  EXPECT_EQ(bert.BestMetricName(), "eval_loss");
  EXPECT_FALSE(bert.BestMetricGreaterIsBetter());

  const JobSpec minilm = LoadJobSpecFile((kSourceDir / "examples/mrpc-minilm.yaml").string());
  EXPECT_EQ(minilm.model, "sentence-transformers/all-MiniLM-L6-v2");
  EXPECT_TRUE(minilm.bf16);
  EXPECT_EQ(minilm.num_train_epochs, 3.0);
  EXPECT_EQ(minilm.per_device_train_batch_size, 16);
  EXPECT_EQ(minilm.eval_strategy, "epoch");
  EXPECT_EQ(minilm.save_strategy, "epoch");
  EXPECT_TRUE(minilm.load_best_model_at_end);
  EXPECT_DOUBLE_EQ(minilm.weight_decay, 0.1);
  EXPECT_DOUBLE_EQ(minilm.warmup_ratio, 0.1);
  EXPECT_GT(minilm.learning_rate, bert.learning_rate);
  EXPECT_EQ(minilm.data, "download");

  const JobSpec cola = LoadJobSpecFile((kSourceDir / "examples/cola-minilm.yaml").string());
  EXPECT_EQ(cola.task, "cola");
  EXPECT_EQ(cola.BestMetricName(), "eval_matthews_correlation");
  EXPECT_TRUE(cola.BestMetricGreaterIsBetter());
  const JobSpec mnli = LoadJobSpecFile((kSourceDir / "examples/mnli-minilm.yaml").string());
  EXPECT_EQ(mnli.task, "mnli");
  EXPECT_EQ(mnli.BestMetricName(), "eval_accuracy");
  const JobSpec stsb = LoadJobSpecFile((kSourceDir / "examples/stsb-minilm.yaml").string());
  EXPECT_EQ(stsb.task, "stsb");
  EXPECT_TRUE(stsb.BestMetricGreaterIsBetter());
  const JobSpec own = LoadJobSpecFile((kSourceDir / "examples/own-files-minilm.yaml").string());
  EXPECT_EQ(own.task, "");
  EXPECT_EQ(own.train_file, "data/tickets/train.csv");
  EXPECT_EQ(own.label_column_name, "team");
  // Every example parses: none drifts from the parser.
  for (const auto& entry : std::filesystem::directory_iterator(kSourceDir / "examples")) {
    if (entry.path().extension() == ".yaml") {
      EXPECT_NO_THROW(LoadJobSpecFile(entry.path().string())) << entry.path();
    }
  }
}

TEST(JobSpecErrors, RangeMessagesNameFileKeyRangeAndValue) {
  EXPECT_EQ(ParseError("learning_rate: -1"), "job.yaml: learning_rate: must be > 0 (got -1)");
  EXPECT_EQ(ParseError("per_device_train_batch_size: 0"),
            "job.yaml: per_device_train_batch_size: must be an integer in [1, 4096] (got 0)");
  EXPECT_EQ(ParseError("eval_strategy: epochs"),
            "job.yaml: eval_strategy: must be one of no, steps, epoch (got \"epochs\")");
  EXPECT_EQ(ParseError("warmup_ratio: 1.5"), "job.yaml: warmup_ratio: must be in [0, 1] (got 1.5)");
  EXPECT_EQ(ParseError("adam_beta2: 1"), "job.yaml: adam_beta2: must be in [0, 1) (got 1)");
  EXPECT_EQ(
      ParseError("max_train_samples: 0"),
      "job.yaml: max_train_samples: must be -1 (all) or an integer in [1, 1000000000] (got 0)");
  EXPECT_EQ(ParseError("task: ax"),
            "job.yaml: task: must be one of cola, sst2, mrpc, qqp, stsb, mnli, qnli, rte, wnli (got \"ax\")");
  EXPECT_EQ(ParseError("task: mrpc"), "");
  EXPECT_EQ(ParseError("task: cola"), "");
  EXPECT_EQ(ParseError("world_size: 0"),
            "job.yaml: world_size: must be an integer in [1, 1024] (got 0)");
  EXPECT_EQ(ParseError("world_size: 1025"),
            "job.yaml: world_size: must be an integer in [1, 1024] (got 1025)");
  EXPECT_EQ(
      ParseError("lr_scheduler_type: polynomial"),
      "job.yaml: lr_scheduler_type: must be one of linear, constant, constant_with_warmup, cosine "
      "(got \"polynomial\")");
  EXPECT_EQ(ParseError("device: 1"), "job.yaml: device: must be one of cpu, cuda (got \"1\")");
  EXPECT_EQ(ParseError("model: \"\""), "job.yaml: model: must not be empty");
}

TEST(JobSpecErrors, HugeValues) {
  EXPECT_EQ(ParseError("num_train_epochs: 1e300"),
            "job.yaml: num_train_epochs: must be in (0, 10000] (got 1e300)");
  EXPECT_EQ(ParseError("num_train_epochs: 1e999"),
            "job.yaml: num_train_epochs: must be a finite number in (0, 10000] (got 1e999)");
  EXPECT_EQ(ParseError("learning_rate: .inf"),
            "job.yaml: learning_rate: must be a finite number > 0 (got .inf)");
  EXPECT_EQ(ParseError("learning_rate: .nan"),
            "job.yaml: learning_rate: must be a finite number > 0 (got .nan)");
  EXPECT_EQ(ParseError("max_seq_length: 1000000000"),
            "job.yaml: max_seq_length: must be an integer in [8, 512] (got 1000000000)");
  EXPECT_EQ(ParseError("max_seq_length: 513"),
            "job.yaml: max_seq_length: must be an integer in [8, 512] (got 513)");
  EXPECT_EQ(
      ParseError("max_steps: 99999999999999999999999"),
      "job.yaml: max_steps: must be -1 (use num_train_epochs) or an integer in [1, 1000000000] "
      "(got 99999999999999999999999)");
  EXPECT_THAT(ParseError("seed: " + std::string(1 << 19, '9')),
              AllOf(HasSubstr("seed: must be an integer in [0, 4294967295] (got \"99999"),
                    HasSubstr("... (524288 characters))")));
  EXPECT_LT(ParseError("learning_rate: 1." + std::string(1 << 19, '0') + "1").size(), 300u);
  EXPECT_EQ(ParseError("model: " + std::string(5000, 'm')),
            "job.yaml: model: must be at most 4096 characters (got 5000 characters)");
  EXPECT_THAT(
      ParseError("metric_for_best_model: \"" + std::string(100000, 'x') + "\""),
      HasSubstr("metric_for_best_model: must be at most 4096 characters (got 100000 characters)"));
  EXPECT_THAT(ParseError("model: bert\n# " + std::string(2 << 20, 'x')),
              HasSubstr("job.yaml: too large"));
  // yaml-cpp's depth guard, not a stack overflow.
  EXPECT_THAT(ParseError("model: " + std::string(100000, '[')), HasSubstr("nested too deeply"));
}

TEST(JobSpecErrors, TypeMessages) {
  EXPECT_EQ(ParseError("per_device_train_batch_size: 2.5"),
            "job.yaml: per_device_train_batch_size: must be an integer (got 2.5)");
  EXPECT_EQ(ParseError("seed: \"42\""), "job.yaml: seed: must be an integer (got \"42\")");
  EXPECT_EQ(ParseError("learning_rate: \"2e-5\""),
            "job.yaml: learning_rate: must be a number (got \"2e-5\")");
  EXPECT_EQ(ParseError("learning_rate: fast"),
            "job.yaml: learning_rate: must be a number (got \"fast\")");
  EXPECT_EQ(ParseError("learning_rate: true"),
            "job.yaml: learning_rate: must be a number (got true)");
  EXPECT_EQ(ParseError("learning_rate:"), "job.yaml: learning_rate: must be a number (got null)");
  EXPECT_EQ(ParseError("bf16: yes"), "job.yaml: bf16: must be true or false (got \"yes\")");
  EXPECT_EQ(ParseError("bf16: 1"), "job.yaml: bf16: must be true or false (got 1)");
  EXPECT_EQ(ParseError("greater_is_better: maybe"),
            "job.yaml: greater_is_better: must be true, false or null (got \"maybe\")");
  EXPECT_EQ(ParseError("model: [a, b]"), "job.yaml: model: must be a string (got a list)");
  EXPECT_EQ(ParseError("model: 123"), "job.yaml: model: must be a string (got 123)");
  EXPECT_EQ(ParseError("num_train_epochs: {a: 1}"),
            "job.yaml: num_train_epochs: must be a number (got a mapping)");
  EXPECT_EQ(ParseError("seed: !!float 3"), "job.yaml: seed: must be an integer (got 3)");
  EXPECT_EQ(ParseError("seed: !!int 3"), "");
  EXPECT_EQ(ParseError("model: !!str 123"), "");
}

TEST(JobSpecErrors, UnknownKeySuggestsClosest) {
  EXPECT_EQ(ParseError("lerning_rate: 1e-5"),
            "job.yaml: lerning_rate: unknown key; did you mean \"learning_rate\"?");
  EXPECT_EQ(ParseError("per_device_train_batchsize: 8"),
            "job.yaml: per_device_train_batchsize: unknown key; did you mean "
            "\"per_device_train_batch_size\"?");
  EXPECT_EQ(ParseError("evaluation_stratgey: epoch"),
            "job.yaml: evaluation_stratgey: unknown key; did you mean \"evaluation_strategy\"?");
  EXPECT_EQ(ParseError("Seed: 1"), "job.yaml: Seed: unknown key; did you mean \"seed\"?");
}

TEST(JobSpecErrors, MalformedYamlHasLineAndColumn) {
  EXPECT_THAT(ParseError("model: bert\nlearning_rate: [1, 2\nseed: 3\n"),
              AllOf(HasSubstr("job.yaml:3:"), HasSubstr("malformed YAML")));
  EXPECT_THAT(ParseError("model: bert\n  seed: 2\n"), HasSubstr("job.yaml:2:"));
  EXPECT_THAT(ParseError("model: *undefined\n"), HasSubstr("job.yaml:1:8: malformed YAML"));
}

TEST(JobSpecErrors, DocumentMustBeOneMapping) {
  EXPECT_EQ(ParseError("- model\n- bert\n"),
            "job.yaml: expected a mapping of keys to values (got a list)");
  EXPECT_EQ(ParseError("bert-base-uncased"),
            "job.yaml: expected a mapping of keys to values (got \"bert-base-uncased\")");
  EXPECT_THAT(ParseError(""), HasSubstr("job.yaml: empty job spec"));
  EXPECT_THAT(ParseError("# nothing\n"), HasSubstr("job.yaml: empty job spec"));
  EXPECT_THAT(ParseError("seed: 1\n---\nseed: 2\n"),
              HasSubstr("expected one YAML document (got 2)"));
  EXPECT_EQ(ParseError("seed: 1\nseed: 2\n"), "job.yaml: seed: duplicate key");
  EXPECT_THAT(ParseError("? [a, b]\n: 1\n"),
              HasSubstr("job.yaml: keys must be names (got a list)"));
}

TEST(JobSpecErrors, ReportsEveryProblemAtOnce) {
  const std::string message = ParseError("learning_rate: 0\nseed: x\nmax_stpes: 3\n");
  EXPECT_THAT(message, HasSubstr("job.yaml: learning_rate: must be > 0 (got 0)"));
  EXPECT_THAT(message, HasSubstr("job.yaml: seed: must be an integer (got \"x\")"));
  EXPECT_THAT(message, HasSubstr("job.yaml: max_stpes: unknown key; did you mean \"max_steps\"?"));
}

TEST(JobSpecRules, MixedPrecision) {
  EXPECT_THAT(ParseError("bf16: true\nfp16: true\ndevice: cuda\n"),
              HasSubstr("job.yaml: fp16: fp16 and bf16 cannot both be true"));
  EXPECT_EQ(ParseError("fp16: true\n"),
            "job.yaml: fp16: needs device: cuda; on CPU use bf16: true");
  EXPECT_EQ(ParseError("fp16: true\ndevice: cuda\n"), "");
}

TEST(JobSpecRules, LoadBestModelAtEndNeedsMatchingStrategies) {
  EXPECT_EQ(ParseError("load_best_model_at_end: true\neval_strategy: epoch\n"),
            "job.yaml: load_best_model_at_end: requires save_strategy to match eval_strategy "
            "(got eval_strategy \"epoch\", save_strategy \"steps\")");
  EXPECT_EQ(
      ParseError("load_best_model_at_end: true\neval_strategy: epoch\nsave_strategy: epoch\n"), "");
  // Both "no" match, which Hugging Face accepts too.
  EXPECT_EQ(ParseError("load_best_model_at_end: true\nsave_strategy: 'no'\n"), "");
}

TEST(JobSpecRules, LoadBestModelAtEndNeedsSaveStepsMultipleOfEvalSteps) {
  const std::string steps =
      "load_best_model_at_end: true\neval_strategy: steps\nsave_strategy: steps\n";
  EXPECT_EQ(
      ParseError(steps + "eval_steps: 300\nsave_steps: 500\n"),
      "job.yaml: load_best_model_at_end: requires save_steps to be a round multiple of eval_steps "
      "(got save_steps 500, eval_steps 300)");
  EXPECT_EQ(ParseError(steps + "eval_steps: 100\nsave_steps: 500\n"), "");
  // eval_steps unset falls back to logging_steps, as in Hugging Face.
  EXPECT_EQ(
      ParseError(steps + "logging_steps: 300\nsave_steps: 500\n"),
      "job.yaml: load_best_model_at_end: requires save_steps to be a round multiple of eval_steps "
      "(got save_steps 500, eval_steps 300 (unset, so logging_steps))");
  const JobSpec spec = ParseJobSpec(steps + "logging_steps: 250\n", "job.yaml");
  EXPECT_EQ(spec.eval_steps, -1);
  EXPECT_EQ(spec.EffectiveEvalSteps(), 250);
}

TEST(JobSpecAlias, EvaluationStrategy) {
  EXPECT_EQ(ParseJobSpec("evaluation_strategy: epoch", "job.yaml").eval_strategy, "epoch");
  EXPECT_EQ(
      ParseJobSpec("evaluation_strategy: epoch\neval_strategy: epoch", "job.yaml").eval_strategy,
      "epoch");
  EXPECT_EQ(
      ParseError("evaluation_strategy: steps\neval_strategy: epoch\n"),
      "job.yaml: evaluation_strategy: is the deprecated name of eval_strategy and contradicts it "
      "(got \"steps\", eval_strategy \"epoch\"); keep only eval_strategy");
  EXPECT_EQ(ParseError("evaluation_strategy: epochs"),
            "job.yaml: eval_strategy: must be one of no, steps, epoch (got \"epochs\")");
  EXPECT_FALSE(JobSpec{}.ToJson().contains("evaluation_strategy"));
}

TEST(JobSpecMetric, BestMetricAsHuggingFace) {
  JobSpec spec;
  EXPECT_EQ(spec.BestMetricName(), "eval_loss");
  EXPECT_FALSE(spec.BestMetricGreaterIsBetter());
  spec.metric_for_best_model = "accuracy";
  EXPECT_EQ(spec.BestMetricName(), "eval_accuracy");
  EXPECT_TRUE(spec.BestMetricGreaterIsBetter());
  spec.metric_for_best_model = "eval_f1";
  EXPECT_EQ(spec.BestMetricName(), "eval_f1");
  EXPECT_TRUE(spec.BestMetricGreaterIsBetter());
  spec.metric_for_best_model = "eval_loss";
  EXPECT_FALSE(spec.BestMetricGreaterIsBetter());
  spec.greater_is_better = true;
  EXPECT_TRUE(spec.BestMetricGreaterIsBetter());
}

TEST(JobSpecMetric, MetricForBestModelMustBeOneTheTaskReports) {
  // A typo used to fall back to the loss with greater_is_better true: the *worst* checkpoint won.
  EXPECT_EQ(ParseError("metric_for_best_model: acuracy"),
            "job.yaml: metric_for_best_model: task mrpc reports no metric \"acuracy\" (did you mean \"accuracy\"?); "
            "it reports loss, accuracy, f1, with or without eval_");
  EXPECT_THAT(ParseError("metric_for_best_model: eval_f2"), HasSubstr("(did you mean \"eval_f1\"?)"));
  EXPECT_THAT(ParseError("metric_for_best_model: matthews_correlation"), HasSubstr("reports no metric"));
  for (const char* name : {"loss", "eval_loss", "accuracy", "eval_accuracy", "f1", "eval_f1"}) {
    EXPECT_EQ(ParseJobSpec(std::string("metric_for_best_model: ") + name, "job.yaml").metric_for_best_model, name);
  }
}

TEST(JobSpecOwnFiles, TrainFileReplacesTheTaskAsInRunGluePy) {
  const JobSpec own = ParseJobSpec("train_file: train.csv\nvalidation_file: dev.jsonl\neval_strategy: epoch\n"
                                   "text_column_names: a,b\nlabel_column_name: y\ndo_regression: true",
                                   "job.yaml");
  EXPECT_EQ(own.task, "");  // not the default mrpc
  EXPECT_EQ(own.validation_file, "dev.jsonl");
  EXPECT_EQ(own.text_column_names, "a,b");
  EXPECT_EQ(own.label_column_name, "y");
  EXPECT_EQ(own.do_regression, true);
  // Stored and sent as JSON (the coordinator, checkpoints): it parses back to the same job.
  EXPECT_EQ(ParseJobSpec(own.ToJson().dump(), "job.json").ToJson(), own.ToJson());
  EXPECT_EQ(ParseError("task: cola\ntrain_file: train.csv"),
            "job.yaml: task: give task (a GLUE task) or train_file (your own files), not both");
  EXPECT_EQ(ParseError("data: glue_data\ntrain_file: train.csv"),
            "job.yaml: data: give data (a GLUE folder) or train_file (your own files), not both");
  EXPECT_EQ(ParseError("validation_file: dev.csv"),
            "job.yaml: validation_file: is for your own files and needs train_file (task mrpc reads the GLUE "
            "distribution's files from data)");
  EXPECT_THAT(ParseError("task: rte\nlabel_column_name: y"), HasSubstr("label_column_name: is for your own files"));
  EXPECT_EQ(ParseError("task: null"), "job.yaml: task: name a GLUE task, or give train_file (your own files)");
  EXPECT_EQ(ParseError("train_file: t.csv\neval_strategy: epoch"),
            "job.yaml: validation_file: is needed to evaluate (eval_strategy \"epoch\"); give one, or set "
            "eval_strategy: no");
  EXPECT_EQ(ParseError("train_file: t.csv\nlabel_column_name: ''"), "job.yaml: label_column_name: must not be empty");
  // Own files report classification or regression metrics, known once the train file is read.
  EXPECT_FALSE(ParseJobSpec("train_file: t.csv\nmetric_for_best_model: mse", "job.yaml").BestMetricGreaterIsBetter());
  EXPECT_TRUE(ParseJobSpec("train_file: t.csv\nmetric_for_best_model: macro_f1", "job.yaml").BestMetricGreaterIsBetter());
  EXPECT_THAT(ParseError("train_file: t.csv\nmetric_for_best_model: pearsonr"),
              HasSubstr("metric_for_best_model: your own files report no metric \"pearsonr\" (did you mean "
                        "\"pearson\"?); it reports loss, accuracy, f1, macro_f1, mse, pearson, spearmanr"));
  // An override that names train_file moves a GLUE spec to own files.
  JobSpec spec = ParseJobSpec("task: cola", "job.yaml");
  EXPECT_EQ(OverrideError(spec, {"train_file=t.csv"}), "");
  EXPECT_EQ(spec.task, "");
}

TEST(JobSpecMetric, GreaterIsBetterFollowsTheDeclaredMetricUnlessSet) {
  EXPECT_FALSE(ParseJobSpec("metric_for_best_model: eval_loss", "job.yaml").BestMetricGreaterIsBetter());
  EXPECT_TRUE(ParseJobSpec("metric_for_best_model: f1", "job.yaml").BestMetricGreaterIsBetter());
  // An explicit choice stands, as in Hugging Face.
  EXPECT_FALSE(ParseJobSpec("metric_for_best_model: f1\ngreater_is_better: false", "job.yaml").BestMetricGreaterIsBetter());
}

TEST(JobSpecReportTo, AcceptsTrainingArgumentsForms) {
  using Names = std::vector<std::string>;
  EXPECT_EQ(ParseJobSpec("{}", "job.yaml").report_to, Names{});
  EXPECT_EQ(ParseJobSpec("report_to: none", "job.yaml").report_to, Names{});
  EXPECT_EQ(ParseJobSpec("report_to: tensorboard", "job.yaml").report_to, Names{"tensorboard"});
  EXPECT_EQ(ParseJobSpec("report_to: [mlflow, tensorboard]", "job.yaml").report_to, (Names{"mlflow", "tensorboard"}));
  // `--set report_to=a,b` arrives as one scalar.
  EXPECT_EQ(ParseJobSpec("report_to: 'tensorboard, mlflow'", "job.yaml").report_to, (Names{"tensorboard", "mlflow"}));
  EXPECT_EQ(ParseJobSpec("report_to: all", "job.yaml").report_to, Names{"all"});
  const JobSpec both = ParseJobSpec("report_to: [tensorboard, mlflow]", "job.yaml");
  EXPECT_EQ(ParseJobSpec(both.ToJson().dump(), "checkpoint").report_to, both.report_to);
}

TEST(JobSpecReportTo, ErrorsNameTheKeyAndTheValue) {
  EXPECT_EQ(ParseError("report_to: wandb"),
            "job.yaml: report_to: must be none, all, tensorboard, mlflow, or a list of them (got \"wandb\")");
  EXPECT_THAT(ParseError("report_to: [none, mlflow]"), HasSubstr("none cannot be combined"));
  EXPECT_THAT(ParseError("report_to: [all, mlflow]"), HasSubstr("all cannot be combined"));
  EXPECT_THAT(ParseError("report_to: {a: 1}"), HasSubstr("report_to: must be none"));
  EXPECT_THAT(ParseError("report_to: [[tensorboard]]"), HasSubstr("in the list"));
}

TEST(JobSpecConfigOverrides, MappingOfScalarsStoredAsJson) {
  const JobSpec spec = ParseJobSpec(
      "model_config_overrides:\n  hidden_dropout_prob: 0.0\n  num_labels: 2\n  hidden_act: gelu\n"
      "  classifier_dropout: ~\n  flag: true\n",
      "job.yaml");
  EXPECT_EQ(spec.model_config_overrides, nlohmann::json({{"hidden_dropout_prob", 0.0},
                                                         {"num_labels", 2},
                                                         {"hidden_act", "gelu"},
                                                         {"classifier_dropout", nullptr},
                                                         {"flag", true}}));
  EXPECT_TRUE(spec.model_config_overrides["num_labels"].is_number_integer());
  EXPECT_EQ(
      ParseError("model_config_overrides: 3"),
      "job.yaml: model_config_overrides: must be a mapping of config.json keys to values (got 3)");
  EXPECT_EQ(ParseError("model_config_overrides: {a: [1]}"),
            "job.yaml: model_config_overrides: a: must be a number, string, boolean or null (got a "
            "list)");
  EXPECT_EQ(ParseError("model_config_overrides: {a: {b: 1}}"),
            "job.yaml: model_config_overrides: a: must be a number, string, boolean or null (got a "
            "mapping)");
  EXPECT_EQ(ParseError("model_config_overrides: {a: .inf}"),
            "job.yaml: model_config_overrides: a: must be a finite number (got .inf)");
}

TEST(JobSpecOverrides, SetsParsesAndRevalidates) {
  JobSpec spec = ParseJobSpec("learning_rate: 2e-5\n", "job.yaml");
  ApplyJobSpecOverrides(
      spec,
      {"learning_rate=1e-4", "bf16=true", "model=/tmp/m", "eval_strategy=epoch",
       "save_strategy=epoch", "load_best_model_at_end=true",
       "model_config_overrides.hidden_dropout_prob=0.2", "resume_from_checkpoint="},
      "job.yaml");
  EXPECT_DOUBLE_EQ(spec.learning_rate, 1e-4);
  EXPECT_TRUE(spec.bf16);
  EXPECT_EQ(spec.model, "/tmp/m");
  EXPECT_TRUE(spec.load_best_model_at_end);
  EXPECT_EQ(spec.model_config_overrides["hidden_dropout_prob"], 0.2);
  ApplyJobSpecOverrides(spec, {"evaluation_strategy=steps", "save_strategy=steps"}, "job.yaml");
  EXPECT_EQ(spec.eval_strategy, "steps");
}

TEST(JobSpecOverrides, ErrorsNameTheSetFlag) {
  JobSpec spec;
  const nlohmann::json before = spec.ToJson();
  EXPECT_EQ(OverrideError(spec, {"learning_rate=-1"}),
            "job.yaml: --set learning_rate: must be > 0 (got -1)");
  EXPECT_EQ(OverrideError(spec, {"per_device_train_batch_size=2.5"}),
            "job.yaml: --set per_device_train_batch_size: must be an integer (got 2.5)");
  EXPECT_EQ(OverrideError(spec, {"lerning_rate=1"}),
            "job.yaml: --set lerning_rate: unknown key; did you mean \"learning_rate\"?");
  EXPECT_EQ(OverrideError(spec, {"learning_rate"}),
            "job.yaml: --set \"learning_rate\": expected key=value");
  EXPECT_EQ(OverrideError(spec, {"eval_strategy=epochs"}),
            "job.yaml: --set eval_strategy: must be one of no, steps, epoch (got \"epochs\")");
  EXPECT_EQ(OverrideError(spec, {"load_best_model_at_end=true", "eval_strategy=epoch"}),
            "job.yaml: --set load_best_model_at_end: requires save_strategy to match eval_strategy "
            "(got eval_strategy \"epoch\", save_strategy \"steps\")");
  EXPECT_EQ(OverrideError(spec, {"model_config_overrides.a=[1]"}),
            "job.yaml: --set model_config_overrides.a: a: must be a number, string, boolean or "
            "null (got a list)");
  EXPECT_THAT(OverrideError(spec, {"seed=[1"}), HasSubstr("job.yaml: --set seed: malformed value"));
  EXPECT_EQ(spec.ToJson(), before) << "a failed override leaves the spec unchanged";

  JobSpec best = ParseJobSpec(
      "load_best_model_at_end: true\neval_strategy: epoch\nsave_strategy: epoch\n", "job.yaml");
  EXPECT_EQ(OverrideError(best, {"save_strategy=steps"}),
            "job.yaml: load_best_model_at_end (after --set save_strategy): requires save_strategy "
            "to match "
            "eval_strategy (got eval_strategy \"epoch\", save_strategy \"steps\")");
}

TEST(JobSpecFile, MissingFileNamesPath) {
  try {
    LoadJobSpecFile("/nonexistent/job.yaml");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(), HasSubstr("/nonexistent/job.yaml"));
  }
}

TEST(JobSpecFile, RejectsDevices) {
  try {
    LoadJobSpecFile("/dev/zero");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(), "/dev/zero: not a regular file");
  }
}

TEST(JobSpecFile, ErrorsNameTheFile) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("job_spec_test_" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << "learning_rate: -1\n";
  try {
    LoadJobSpecFile(path.string());
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(std::string(error.what()), path.string() + ": learning_rate: must be > 0 (got -1)");
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace bertfleet

#pragma once
// Regression metrics (Hugging Face `evaluate`'s glue/stsb: scipy's pearsonr and spearmanr; and
// mean squared error for your own regression data). Ranks do not decompose over shards, so
// under data parallelism these take every rank's gathered predictions, never per-rank values.
#include <vector>

namespace bertfleet {

// NaN when fewer than 2 values or either side is constant, the value scipy returns (with a
// warning) and `evaluate` reports.
double PearsonCorrelation(const std::vector<double>& x, const std::vector<double>& y);
// Pearson of the average ranks (ties share the mean of their positions, scipy's rankdata).
double SpearmanCorrelation(const std::vector<double>& x, const std::vector<double>& y);
double MeanSquaredError(const std::vector<double>& predictions, const std::vector<double>& labels);

// 1-based ranks; tied values get the average of the positions they span.
std::vector<double> AverageRanks(const std::vector<double>& values);

}  // namespace bertfleet

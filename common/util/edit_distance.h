#pragma once
// Edit distance for "did you mean ...?" hints on misspelt keys and names.
#include <string>
#include <string_view>
#include <vector>

namespace bertfleet {

// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions, since swapped
// letters are the commonest typo), ignoring ASCII case.
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate nearest to `word`; ties go to the earlier candidate. "" when there are none.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace bertfleet

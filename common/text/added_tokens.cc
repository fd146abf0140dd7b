#include "common/text/added_tokens.h"

#include <algorithm>

namespace bertfleet {

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens) {
  for (AddedToken& token : tokens) {
    if (token.content.empty()) continue;  // an empty pattern would match everywhere
    first_byte_[static_cast<uint8_t>(token.content[0])] = true;
    tokens_.push_back(std::move(token));
  }
  std::stable_sort(tokens_.begin(), tokens_.end(), [](const AddedToken& a, const AddedToken& b) {
    return a.content.size() > b.content.size();
  });
}

AddedTokenMatcher::Match AddedTokenMatcher::FindNext(std::string_view text, size_t from) const {
  if (tokens_.empty()) return {text.size(), 0, -1};
  for (size_t at = from; at < text.size(); ++at) {
    if (!first_byte_[static_cast<uint8_t>(text[at])]) continue;
    const std::string_view rest = text.substr(at);
    for (const AddedToken& token : tokens_) {
      if (rest.size() >= token.content.size() &&
          rest.compare(0, token.content.size(), token.content) == 0) {
        return {at, token.content.size(), token.id};
      }
    }
  }
  return {text.size(), 0, -1};
}

}  // namespace bertfleet

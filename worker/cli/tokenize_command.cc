#include "common/util/error.h"
#include "worker/cli/commands.h"

namespace bertfleet {

int RunTokenizeCommand(const CommandArgs& args) { throw Error("'tokenize' is not implemented yet"); }

}  // namespace bertfleet

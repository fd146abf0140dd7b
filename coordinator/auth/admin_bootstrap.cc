#include "coordinator/auth/admin_bootstrap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/util/error.h"

namespace bertfleet::coordinator {
namespace {

// Creates the file with mode 0600 from the start (never a window where it is world-readable),
// then renames it over any previous one.
void WritePrivateFile(const std::filesystem::path& path, const std::string& contents) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw Error("cannot write " + tmp.string() + ": " + std::strerror(errno));
  bool ok = ::fchmod(fd, 0600) == 0 &&  // the umask may only remove bits, but be explicit
            ::write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size()) &&
            ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) saved = errno;
    ::unlink(tmp.c_str());
    throw Error("cannot write " + path.string() + ": " + std::strerror(saved));
  }
}

}  // namespace

bool EnsureAdminToken(TokenStore& tokens, const std::filesystem::path& state_dir, std::ostream& announce) {
  if (tokens.HasValidAdmin()) return false;
  std::filesystem::create_directories(state_dir);
  // "admin", or "admin-2", ... when earlier admin tokens were revoked (names are never reused).
  std::string name = "admin";
  for (int i = 2; tokens.NameTaken(name); ++i) name = "admin-" + std::to_string(i);
  CreatedToken created = tokens.Create(name, v1::ROLE_ADMIN);
  std::filesystem::path file = state_dir / kAdminTokenFileName;
  WritePrivateFile(file, created.secret + "\n");
  announce << "\n    The coordinator made an admin token (shown only this once; also in " << file.string()
           << ", mode 0600):\n\n        " << created.secret << "\n\n"
           << "    Use it with: BERTFLEET_TOKEN=$(cat " << file.string() << ") bertfleet token create "
           << "--role user --name NAME\n\n";
  announce.flush();
  return true;
}

}  // namespace bertfleet::coordinator

"""The code's rooms (docs/architecture.md, "Code map") depend on each other one way only: every
`#include "..."` of a project header must name a room its own room may use. A new arrow in the
wrong direction fails here, naming the file and the include."""
import re

from conftest import SOURCE_DIR

ENGINE = "worker/engine/"
# room -> the rooms its files may include (besides their own). Rooms are path prefixes; the
# longest prefix wins. proto means the generated bertfleet/v1/*.pb.h and proto/'s own helpers.
COMMON = {"common/"}
TORCH = COMMON | {ENGINE + "torch/"}
KERNELS = TORCH | {ENGINE + "kernels/cpu/"}
MODEL = KERNELS | {ENGINE + "model/"}
OPTIM = KERNELS | {ENGINE + "optim/"}
COLLECTIVE = OPTIM | {ENGINE + "collective/", ENGINE + "collective/gloo/", ENGINE + "collective/nccl/",
                      ENGINE + "collective/rendezvous/"}
TRACKING = COMMON | {ENGINE + "tracking/"}  # report_to: no LibTorch
TRAIN = MODEL | COLLECTIVE | TRACKING | {ENGINE + "train/", ENGINE + "checkpoint/", ENGINE + "report/"}
ALLOWED = {
    "common/": COMMON,
    ENGINE + "torch/": TORCH,
    ENGINE + "kernels/cpu/": KERNELS,
    ENGINE + "model/": MODEL,
    ENGINE + "optim/": OPTIM,
    ENGINE + "collective/rendezvous/": COMMON | {ENGINE + "collective/rendezvous/"},
    ENGINE + "collective/nccl/": COLLECTIVE,
    ENGINE + "collective/": COLLECTIVE,
    ENGINE + "train/": TRAIN,
    ENGINE + "checkpoint/": TRAIN,
    ENGINE + "report/": TRAIN,
    ENGINE + "tracking/": TRACKING,
    "worker/protocol/": COMMON | {"proto", "worker/protocol/"},
    "worker/agent/": COMMON | {"proto", "client/", "worker/protocol/", "worker/agent/"},
    "worker/cli/": TRAIN | {"proto", "worker/protocol/", "worker/cli/", "worker/agent/agent_commands.h"},
    "client/": COMMON | {"proto", "client/"},
    "coordinator/": COMMON | {"proto", "coordinator/"},
    "cli/": COMMON | {"proto", "client/", "cli/"},
    "proto/": {"proto"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def room_of(path, rooms):
    matches = [room for room in rooms if path.startswith(room)]
    return max(matches, key=len) if matches else None


def target_of(include):
    if include.startswith("bertfleet/v1/"):
        return "proto"
    return include


def test_includes_point_only_to_allowed_rooms():
    checked = 0
    wrong = []
    for source in sorted(SOURCE_DIR.glob("**/*")):
        relative = source.relative_to(SOURCE_DIR).as_posix()
        if source.suffix not in (".h", ".cc") or relative.startswith(("build", "tests/", "bench/", ".")):
            continue
        room = room_of(relative, ALLOWED)
        if room is None:
            continue
        for include in INCLUDE.findall(source.read_text(errors="replace")):
            target = target_of(include)
            allowed = ALLOWED[room]
            ok = target in allowed or room_of(target, ALLOWED) in allowed
            checked += 1
            if not ok:
                wrong.append(f"{relative} ({room}) includes {include}")
    assert checked > 300, f"only {checked} includes checked: did the tree move?"
    assert not wrong, "includes against the direction of the rooms:\n" + "\n".join(wrong)


def test_the_agent_room_never_reaches_the_engine():
    for source in (SOURCE_DIR / "worker" / "agent").glob("*"):
        text = source.read_text()
        assert "worker/engine/" not in "".join(INCLUDE.findall(text)), source
        assert "<torch/" not in text and "<c10/" not in text and "<ATen/" not in text, source

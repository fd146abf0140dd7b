#pragma once
// How many CPUs this process may run on: the cores of its affinity mask (taskset, cpusets), else
// every online one. "All cores" defaults use it rather than LibTorch's own default, which counts
// physical cores through cpuinfo and came to 1 on a 2-core KVM guest (AMD EPYC), leaving a core idle.

namespace bertfleet {

int UsableCores();  // at least 1

}  // namespace bertfleet

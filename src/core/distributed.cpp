#include "faceedit/distributed.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "faceedit/error.h"

#ifdef FACEEDIT_WITH_MPI
#include <mpi.h>
#endif

namespace faceedit {

namespace {

struct MpiState {
  bool active = false;
  int rank = 0, size = 1, local_size = 1;
};
MpiState& mpi_state() {
  static MpiState s;
  return s;
}

// Launchers announce themselves in the environment: Open MPI's mpirun, PMIx (srun --mpi=pmix,
// prterun) and PMI-1/2 (srun --mpi=pmi2, MPICH's hydra).
bool started_by_mpi_launcher() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(var) != nullptr) return true;
  return false;
}

#ifdef FACEEDIT_WITH_MPI
void finalize_mpi() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}
#endif

}  // namespace

void init_distributed(int* argc, char*** argv) {
#ifdef FACEEDIT_WITH_MPI
  auto& s = mpi_state();
  if (s.active || !started_by_mpi_launcher()) return;
  int provided = 0;
  // Only the main thread calls MPI (LibTorch's OpenMP workers never do).
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &s.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &s.size);
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, s.rank, MPI_INFO_NULL, &local);
  MPI_Comm_size(local, &s.local_size);
  MPI_Comm_free(&local);
  s.active = true;
  std::atexit(finalize_mpi);
#else
  (void)argc, (void)argv;
  if (started_by_mpi_launcher() && std::getenv("OMPI_COMM_WORLD_RANK") != nullptr &&
      std::string(std::getenv("OMPI_COMM_WORLD_SIZE")) != "1")
    std::cerr << "warning: started by mpirun, but this faceedit was built without MPI: every rank would do the "
                 "whole job (rebuild with libopenmpi-dev installed, or use --shard K/N)\n";
#endif
}

int cores_per_local_rank() {
  const auto& s = mpi_state();
  if (!s.active) return 0;
  const long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  // mpirun binds a rank to its cores (Open MPI: one core per rank for up to 2 ranks, a socket
  // beyond): threads beyond those share them (measured: 1 rank bound to 1 core with 2 threads ran
  // at 0.55x). Unbound ranks divide the node's cores among themselves.
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (::sched_getaffinity(0, sizeof mask, &mask) == 0 && CPU_COUNT(&mask) < cores) return std::max(1, CPU_COUNT(&mask));
  return static_cast<int>(std::max<long>(1, cores / std::max(1, s.local_size)));
}

WorkShare parse_shard(const std::string& spec) {
  const auto slash = spec.find('/');
  WorkShare w;
  try {
    if (slash == std::string::npos) throw std::invalid_argument("no slash");
    size_t used_k = 0, used_n = 0;
    const std::string k = spec.substr(0, slash), n = spec.substr(slash + 1);
    w.index = std::stoi(k, &used_k);
    w.count = std::stoi(n, &used_n);
    if (used_k != k.size() || used_n != n.size() || k.empty() || n.empty()) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    fail("--shard '" + spec + "'", "must be K/N: this task's index K of N tasks, e.g. 0/4 ($SLURM_ARRAY_TASK_ID/N)");
  }
  if (w.count < 1 || w.count > 100000 || w.index < 0 || w.index >= w.count)
    fail("--shard '" + spec + "'", "needs 0 <= K < N <= 100000");
  w.shard = true;
  return w;
}

WorkShare job_share(const std::string& shard_spec) {
  const auto& s = mpi_state();
  if (s.active && s.size > 1) {
    if (!shard_spec.empty())
      fail("--shard " + shard_spec, "cannot be combined with an MPI job of " + std::to_string(s.size) +
                                        " ranks: the ranks already share the work");
    WorkShare w;
    w.index = s.rank, w.count = s.size, w.mpi = true;
    return w;
  }
  return shard_spec.empty() ? WorkShare{} : parse_shard(shard_spec);
}

void WorkShare::claim_job(const std::function<void()>& write_or_check) const {
  if (!mpi || index == 0) write_or_check();
  wait_for_all();
  if (mpi && index != 0) write_or_check();
}

void WorkShare::wait_for_all() const {
#ifdef FACEEDIT_WITH_MPI
  if (mpi) MPI_Barrier(MPI_COMM_WORLD);
#endif
}

std::string WorkShare::label() const {
  if (count == 1 && !shard) return "";
  return std::string(mpi ? "rank " : "shard ") + std::to_string(index) + "/" + std::to_string(count);
}

void abort_job_on_error(const std::string& message) {
#ifdef FACEEDIT_WITH_MPI
  const auto& s = mpi_state();
  if (s.active && s.size > 1) {
    std::cerr << "error (rank " << s.rank << " of " << s.size << "; stopping every rank): " << message << std::endl;
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
#else
  (void)message;
#endif
}

JobLock::JobLock(const std::filesystem::path& dir, const WorkShare& share, const std::string& what) {
  if (share.mpi && share.index != 0) return;  // rank 0 holds the directory for the whole MPI job
  dir_fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0) fail(dir.string(), "cannot open the job directory");
  const std::string busy = "another `" + what + "` is writing into this directory";
  if (::flock(dir_fd_, (share.shard ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
    ::close(dir_fd_);
    fail(dir.string(), busy);
  }
  if (!share.shard) return;
  const auto path = dir / (".shard-" + std::to_string(share.index) + "-of-" + std::to_string(share.count) + ".lock");
  shard_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (shard_fd_ < 0 || ::flock(shard_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (shard_fd_ >= 0) ::close(shard_fd_);
    ::close(dir_fd_);
    fail(dir.string(), "another task with --shard " + std::to_string(share.index) + "/" + std::to_string(share.count) +
                           " is writing into this directory");
  }
}

JobLock::~JobLock() {
  if (shard_fd_ >= 0) ::close(shard_fd_);
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

}  // namespace faceedit

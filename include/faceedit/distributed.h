// faceedit — one job's work shared among processes: the ranks of an MPI job (`mpirun -n N faceedit
// sample ...`, `srun faceedit ...`) or the tasks of a scheduler's job array (`--shard K/N`), with a
// result identical, byte for byte, to one process's.
//
// Every distributed job (sample, evaluate, photo --batch) has work items 0..M-1 (sample shards,
// blocks of evaluated faces, photos), each computed on its own and written to its own file. Process
// K of N computes the items i with i % N == K that have no file yet; then one process merges: it
// reads every item's file in item order and writes the job's result as a single process would (rank
// 0 of an MPI job after all ranks are done; with --shard, a run without --shard, which computes
// what is missing and merges). Items are computed the same way whoever computes them, and merging
// reduces in one fixed order, so neither the process count nor an interruption changes a byte.
// Killed (a rank, the node, the whole job)? Rerun the same command with any number of processes:
// finished items are kept, nothing is computed twice.
//
// MPI is optional: without it in the build (FACEEDIT_WITH_MPI undefined) every process is a single
// rank and only --shard shares work. MPI is initialised only when a launcher started the process
// (its environment says so), so a plain `faceedit ...` never touches MPI.
//
//   faceedit::init_distributed(&argc, &argv);          // main(), before anything else
//   auto share = faceedit::job_share(shard_option);     // MPI rank/size, or --shard K/N, or {0, 1}
//   JobLock lock(dir, share, "faceedit sample");        // refuses a second job in the directory
//   for (i...) if (share.owns(i) && !done(i)) compute(i);
//   share.wait_for_all();                               // MPI barrier (no-op otherwise)
//   if (share.merges()) merge();
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace faceedit {

struct WorkShare {
  int index = 0;      // this process: 0..count-1
  int count = 1;      // processes sharing the job
  bool mpi = false;   // the ranks of one MPI job (they wait for each other; rank 0 merges)
  bool shard = false; // a --shard K/N task: computes its items only; a run without --shard merges

  bool owns(int64_t item) const { return item % count == index; }
  // This process writes the merged result (rank 0 of MPI, or a plain single run).
  bool merges() const { return !shard && index == 0; }
  // MPI: waits until every rank got here (a rank that failed has aborted the job). Otherwise no-op.
  void wait_for_all() const;
  // A job's settings file (manifest, job.json): `write_or_check` writes it when absent, else refuses
  // another job's. Rank 0 of MPI (or any other process) runs it first; after a barrier the other
  // ranks run it too, so they check what rank 0 wrote instead of racing it.
  void claim_job(const std::function<void()>& write_or_check) const;
  // "rank 1/2", "shard 3/8" or "" for a single process: a prefix for log lines.
  std::string label() const;
};

// Initialises MPI when the process was started by an MPI launcher (mpirun, srun with PMI/PMIx) and
// the build has MPI; sets LibTorch's threads to the cores per local rank unless --threads says
// otherwise later. Idempotent; finalised at exit.
void init_distributed(int* argc, char*** argv);

// MPI: this rank. Otherwise, with `shard_spec` "K/N" (0 <= K < N <= 100000): task K of N. Else
// {0, 1}. Both MPI (size > 1) and --shard is refused: they are two ways to say the same thing.
WorkShare job_share(const std::string& shard_spec = "");

// Parses "K/N"; errors name the option and the problem.
WorkShare parse_shard(const std::string& spec);

// When this process fails: in an MPI job of several ranks, prints `message` and aborts every rank
// (the others would wait forever at the next barrier); otherwise returns.
void abort_job_on_error(const std::string& message);

// Cores per process when MPI placed several ranks on this node (0: not under MPI).
int cores_per_local_rank();

// Holds a job's directory against a second job for this process's lifetime (flock: released by
// the kernel when the process dies). Single run: exclusive. MPI: rank 0 holds it exclusively for
// the job, other ranks hold nothing. --shard K/N: a shared hold (other tasks of the array may run)
// plus an exclusive one on "K/N" itself. A conflicting holder -> Error "<dir>: another <what> is
// writing into this directory".
class JobLock {
 public:
  JobLock(const std::filesystem::path& dir, const WorkShare& share, const std::string& what);
  ~JobLock();
  JobLock(const JobLock&) = delete;
  JobLock& operator=(const JobLock&) = delete;

 private:
  int dir_fd_ = -1, shard_fd_ = -1;
};

}  // namespace faceedit

#include "faceedit/edit/interfacegan/boundary.h"

#include <ATen/CPUGeneratorImpl.h>
#include <linear.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <numeric>
#include <random>
#include <sstream>

#include "faceedit/error.h"
#include "faceedit/io/npy.h"
#include "faceedit/io/safetensors.h"

namespace faceedit::edit {

namespace fs = std::filesystem;

namespace {

constexpr const char* kArch = "interfacegan-boundary";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

torch::Tensor unit_vector(const torch::Tensor& v, const std::string& what) {
  auto d = v.detach().to(torch::kCPU, torch::kFloat64).reshape({-1});
  const double norm = d.norm().item<double>();
  if (!std::isfinite(norm) || norm < 1e-12) fail(what, "is a zero (or non-finite) vector");
  return d / norm;
}

// Uniform integer in [0, bound) without modulo bias, portable across standard libraries.
uint64_t bounded(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t r;
  do r = rng();
  while (r >= limit);
  return r % bound;
}

void shuffle(std::vector<int64_t>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[bounded(rng, i)]);
}

void silent_print(const char*) {}

std::string str(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

std::mutex& liblinear_mutex() {
  static std::mutex m;
  return m;
}

struct LinearFit {
  std::vector<double> w;  // [dim], positive side = label +1
  double b = 0.0;
  double seconds = 0.0;
};

// Fits a linear SVM on rows (float64 [n, dim], contiguous) with labels +1/-1 (both present).
LinearFit fit_linear_svm(const torch::Tensor& rows, const std::vector<double>& labels, const BoundaryParams& p) {
  const int64_t n = rows.size(0), dim = rows.size(1);
  const double* x = rows.data_ptr<double>();
  // Dense rows as liblinear's sparse nodes: dim features, the bias feature (index dim+1), terminator.
  std::vector<feature_node> nodes(static_cast<size_t>(n * (dim + 2)));
  std::vector<feature_node*> row_ptrs(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    feature_node* r = &nodes[static_cast<size_t>(i * (dim + 2))];
    row_ptrs[static_cast<size_t>(i)] = r;
    for (int64_t j = 0; j < dim; ++j) r[j] = {static_cast<int>(j + 1), x[i * dim + j]};
    r[dim] = {static_cast<int>(dim + 1), 1.0};
    r[dim + 1] = {-1, 0.0};
  }
  std::vector<double> y = labels;
  problem prob{};
  prob.l = static_cast<int>(n);
  prob.n = static_cast<int>(dim + 1);
  prob.y = y.data();
  prob.x = row_ptrs.data();
  prob.bias = 1.0;
  parameter param{};
  param.solver_type = p.squared_hinge ? L2R_L2LOSS_SVC_DUAL : L2R_L1LOSS_SVC_DUAL;
  param.eps = p.tolerance;
  param.C = p.C;
  param.p = 0.1;

  LinearFit fit;
  std::lock_guard<std::mutex> lock(liblinear_mutex());
  if (const char* problem_text = check_parameter(&prob, &param)) fail("liblinear", problem_text);
  set_print_string_function(&silent_print);
  std::srand(static_cast<unsigned>(p.seed));  // liblinear draws its coordinate order from rand()
  const auto start = std::chrono::steady_clock::now();
  model* m = train(&prob, &param);
  fit.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!m) fail("liblinear", "training failed");
  // w has dim+1 entries (the last one multiplies the bias feature); decision > 0 means label[0].
  const double sign = m->label[0] == 1 ? 1.0 : -1.0;
  fit.w.resize(static_cast<size_t>(dim));
  for (int64_t j = 0; j < dim; ++j) fit.w[static_cast<size_t>(j)] = sign * m->w[j];
  fit.b = sign * m->w[dim] * m->bias;
  free_and_destroy_model(&m);
  return fit;
}

double accuracy(const torch::Tensor& decision, const torch::Tensor& positive) {
  if (decision.numel() == 0) return std::nan("");
  return (decision.gt(0) == positive).to(torch::kFloat64).mean().item<double>();
}

torch::Tensor stack_conditions(const std::vector<torch::Tensor>& conditions, int64_t dim) {
  std::vector<torch::Tensor> rows;
  for (size_t i = 0; i < conditions.size(); ++i) {
    const std::string what = "condition direction " + std::to_string(i + 1);
    if (conditions[i].numel() != dim)
      fail(what, "has dimension " + std::to_string(conditions[i].numel()) + ", the primary has " + std::to_string(dim));
    rows.push_back(unit_vector(conditions[i], what));
  }
  return torch::stack(rows);  // [k, dim] float64, unit rows
}

// Refuses (nearly) dependent conditions: the smallest singular value of the unit rows measures how
// far the set is from degenerate (1 for orthonormal, 0 for dependent; |sin| of the angle for two).
void check_conditions(const torch::Tensor& c) {
  if (c.size(0) > c.size(1))
    fail("conditions", std::to_string(c.size(0)) + " directions in " + std::to_string(c.size(1)) + " dimensions are dependent");
  const double smallest = torch::linalg_svdvals(c).min().item<double>();
  if (smallest < 1e-3)
    fail("conditions", "the condition directions are (nearly) parallel or linearly dependent (smallest singular value " +
                           str(smallest) + ")");
}

torch::Tensor finish_projection(const torch::Tensor& residual) {
  const double norm = residual.norm().item<double>();
  if (norm < 1e-3)
    fail("primary direction", "is (nearly) parallel to the condition directions: nothing is left after projecting (norm " +
                                  str(norm) + ")");
  return (residual / norm).to(torch::kFloat32);
}

}  // namespace

void save_boundary(const Boundary& boundary, const std::string& path) {
  if (!boundary.normal.defined() || boundary.normal.numel() == 0) fail(path, "boundary has no normal");
  const auto normal = boundary.normal.detach().to(torch::kCPU, torch::kFloat32).reshape({1, -1});
  if (ends_with(path, ".npy")) {
    io::write_npy(path, normal);
  } else if (ends_with(path, ".safetensors")) {
    io::write_safetensors(path, {{"normal", normal}, {"offset", torch::tensor({boundary.offset}, torch::kFloat32)}},
                          {{"faceedit.arch", kArch},
                           {"faceedit.format_version", "1"},
                           {"faceedit.attribute", boundary.attribute},
                           {"faceedit.space", boundary.space ? models::to_string(*boundary.space) : ""},
                           {"faceedit.report", boundary.report.dump()}});
  } else {
    fail(path, "unknown boundary format (use .safetensors or .npy)");
  }
}

Boundary random_boundary(int64_t dim, std::optional<models::LatentSpace> space, const std::string& attribute, uint64_t seed) {
  if (dim < 1) fail("random boundary", "needs a dimension >= 1");
  Boundary b;
  b.normal = torch::randn({dim}, at::detail::createCPUGenerator(seed));
  b.normal /= b.normal.norm();
  b.space = space;
  b.attribute = attribute;
  return b;
}

Boundary load_boundary(const std::string& path) {
  Boundary b;
  torch::Tensor v;
  if (ends_with(path, ".npy")) {
    v = io::read_npy(path);
    std::string stem = fs::path(path).stem().string();
    if (stem.rfind("boundary_", 0) == 0) stem = stem.substr(9);
    b.attribute = stem;
  } else if (ends_with(path, ".safetensors")) {
    if (!fs::exists(path)) fail(path, "no such boundary file");
    io::SafetensorsReader file(path);
    const auto& meta = file.metadata();
    auto arch = meta.find("faceedit.arch");
    if (arch == meta.end() || arch->second != kArch)
      fail(path, std::string("not a boundary file (faceedit.arch is not \"") + kArch + "\")");
    if (!file.contains("normal")) fail(path, "has no 'normal' tensor");
    v = file.load("normal");
    if (file.contains("offset")) {
      auto off = file.load("offset");
      if (off.numel() != 1) fail(path, "'offset' must hold one value");
      b.offset = off.item<double>();
    }
    if (auto it = meta.find("faceedit.attribute"); it != meta.end()) b.attribute = it->second;
    if (auto it = meta.find("faceedit.space"); it != meta.end() && !it->second.empty())
      b.space = models::latent_space_from_json(it->second, path);
    if (auto it = meta.find("faceedit.report"); it != meta.end()) {
      b.report = nlohmann::json::parse(it->second, nullptr, false);
      if (b.report.is_discarded()) fail(path, "faceedit.report is not valid JSON");
    }
  } else {
    fail(path, "unknown boundary format (use .safetensors or .npy)");
  }
  if (!(v.dim() == 1 || (v.dim() == 2 && v.size(0) == 1)) || v.numel() == 0) {
    std::string shape;
    for (auto s : v.sizes()) shape += (shape.empty() ? "" : ", ") + std::to_string(s);
    fail(path, "boundary normal must be [dim] or [1, dim], got [" + shape + "]");
  }
  b.normal = unit_vector(v, path).to(torch::kFloat32);
  if (!std::isfinite(b.offset)) fail(path, "offset is not finite");
  return b;
}

void check_dimension(const Boundary& boundary, int64_t dim, const std::string& what) {
  if (boundary.dim() != dim)
    fail(what, "boundary '" + boundary.attribute + "'" + (boundary.space ? " (space " + models::to_string(*boundary.space) + ")" : "") +
                   " has dimension " + std::to_string(boundary.dim()) + ", expected " + std::to_string(dim));
}

Boundary train_boundary(const torch::Tensor& latents_in, const torch::Tensor& scores_in, const BoundaryParams& p) {
  const auto total_start = std::chrono::steady_clock::now();
  if (latents_in.dim() != 2) fail("latents", "must be [N, dim], got " + std::to_string(latents_in.dim()) + " dimensions");
  const int64_t n = latents_in.size(0), dim = latents_in.size(1);
  const auto scores = scores_in.detach().to(torch::kCPU, torch::kFloat64).reshape({-1});
  if (scores.numel() != n)
    fail("scores", "has " + std::to_string(scores.numel()) + " values for " + std::to_string(n) + " latents");
  if (!(p.ratio > 0.0 && p.ratio <= 0.5)) fail("ratio " + str(p.ratio), "must be in (0, 0.5]");
  if (!(p.split > 0.0 && p.split < 1.0)) fail("split " + str(p.split), "must be in (0, 1)");
  if (!(p.C > 0.0) || !std::isfinite(p.C)) fail("C " + str(p.C), "must be positive");
  if (!(p.tolerance > 0.0)) fail("tolerance", "must be positive");
  // Kept in their dtype: only the rows a step needs are converted to float64.
  const auto latents = latents_in.detach().to(torch::kCPU).contiguous();
  if (!latents.is_floating_point()) fail("latents", "must be floating point");
  if (!torch::isfinite(latents).all().item<bool>()) fail("latents", "contain NaN or infinite values");
  if (!torch::isfinite(scores).all().item<bool>()) fail("scores", "contain NaN or infinite values");

  const int64_t chosen = static_cast<int64_t>(std::floor(static_cast<double>(n) * p.ratio));
  const int64_t train_num = static_cast<int64_t>(std::floor(static_cast<double>(chosen) * p.split));
  const int64_t val_num = chosen - train_num;
  if (train_num < 1 || val_num < 1)
    fail("samples", std::to_string(n) + " samples are too few for ratio " + str(p.ratio) + " and split " +
                        str(p.split) + ": " + std::to_string(chosen) + " chosen per side, " +
                        std::to_string(train_num) + " to train and " + std::to_string(val_num) +
                        " to validate (each needs at least 1; give more samples or a larger ratio)");
  const double max_score = scores.max().item<double>(), min_score = scores.min().item<double>();
  if (max_score == min_score) fail("scores", "are all equal: there is nothing to separate");

  // Descending by score; ties keep sample order (stable).
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  const double* s = scores.data_ptr<double>();
  std::stable_sort(order.begin(), order.end(), [s](int64_t a, int64_t b) { return s[a] > s[b]; });

  std::mt19937_64 rng(p.seed);
  std::vector<int64_t> pos(order.begin(), order.begin() + chosen), neg(order.end() - chosen, order.end());
  shuffle(pos, rng);
  shuffle(neg, rng);
  auto rows_of = [&](const std::vector<int64_t>& idx, int64_t from, int64_t to) {
    std::vector<int64_t> part(idx.begin() + from, idx.begin() + to);
    return latents.index_select(0, torch::tensor(part, torch::kInt64)).to(torch::kFloat64);
  };
  const auto train_x = torch::cat({rows_of(pos, 0, train_num), rows_of(neg, 0, train_num)}).contiguous();
  const auto val_x = torch::cat({rows_of(pos, train_num, chosen), rows_of(neg, train_num, chosen)});
  std::vector<double> train_y(static_cast<size_t>(2 * train_num), -1.0);
  std::fill(train_y.begin(), train_y.begin() + train_num, 1.0);
  auto half_labels = [](int64_t k) {
    return torch::cat({torch::ones({k}, torch::kBool), torch::zeros({k}, torch::kBool)});
  };

  const LinearFit fit = fit_linear_svm(train_x, train_y, p);
  const auto w = torch::tensor(fit.w, torch::kFloat64);
  const double w_norm = w.norm().item<double>();
  if (!(w_norm > 0.0) || !std::isfinite(w_norm)) fail("liblinear", "returned a zero weight vector");

  // Remaining (middle) samples, labelled as InterFaceGAN does: score >= (max + min) / 2.
  std::vector<int64_t> middle(order.begin() + chosen, order.end() - chosen);
  const double threshold = (max_score + min_score) / 2.0;
  const auto mid_idx = torch::tensor(middle, torch::kInt64);
  const auto mid_positive = scores.index_select(0, mid_idx).ge(threshold);
  const int64_t mid_pos_count = mid_positive.sum().item<int64_t>();

  const double train_acc = accuracy(torch::mv(train_x, w) + fit.b, half_labels(train_num));
  const double val_acc = accuracy(torch::mv(val_x, w) + fit.b, half_labels(val_num));
  double mid_acc = std::nan("");
  if (!middle.empty()) {
    // In blocks, so that a large N never needs a float64 copy of all latents.
    std::vector<torch::Tensor> decisions;
    for (int64_t i = 0; i < mid_idx.numel(); i += 8192) {
      const auto block = latents.index_select(0, mid_idx.slice(0, i, std::min(i + 8192, mid_idx.numel())));
      decisions.push_back(torch::mv(block.to(torch::kFloat64), w) + fit.b);
    }
    mid_acc = accuracy(torch::cat(decisions), mid_positive);
  }
  auto number_or_null = [](double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); };

  Boundary b;
  b.normal = (w / w_norm).to(torch::kFloat32);
  b.offset = fit.b / w_norm;
  b.report = {
      {"samples", n},
      {"dim", dim},
      {"ratio", p.ratio},
      {"split", p.split},
      {"seed", p.seed},
      {"chosen", chosen},
      {"train", {{"positive", train_num}, {"negative", train_num}, {"accuracy", train_acc}}},
      {"validation", {{"positive", val_num}, {"negative", val_num}, {"accuracy", val_acc}}},
      {"remaining",
       {{"count", static_cast<int64_t>(middle.size())},
        {"positive", mid_pos_count},
        {"negative", static_cast<int64_t>(middle.size()) - mid_pos_count},
        {"threshold", threshold},
        {"accuracy", number_or_null(mid_acc)}}},
      {"svm",
       {{"library", "liblinear " + std::to_string(liblinear_version)},
        {"solver", p.squared_hinge ? "L2R_L2LOSS_SVC_DUAL" : "L2R_L1LOSS_SVC_DUAL"},
        {"C", p.C},
        {"tolerance", p.tolerance},
        {"bias", 1.0},
        {"weight_norm", w_norm}}},
      {"score_range", {min_score, max_score}},
      {"train_seconds", fit.seconds},
      {"total_seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - total_start).count()},
  };
  return b;
}

torch::Tensor project_orthogonal(const torch::Tensor& primary, const std::vector<torch::Tensor>& conditions) {
  const auto n = unit_vector(primary, "primary direction");
  if (conditions.empty()) return n.to(torch::kFloat32);
  if (conditions.size() > 2) return project_orthogonal_solve(primary, conditions);
  const auto c = stack_conditions(conditions, n.numel());
  check_conditions(c);
  if (conditions.size() == 1) {
    const auto c1 = c[0];
    return finish_projection(n - n.dot(c1) * c1);
  }
  // InterFaceGAN's project_boundary for two unit conditions (without its 1e-8 guard: degenerate
  // pairs are refused above instead).
  const auto c1 = c[0], c2 = c[1];
  const double p1 = n.dot(c1).item<double>(), p2 = n.dot(c2).item<double>(), c12 = c1.dot(c2).item<double>();
  const double alpha = (p1 - p2 * c12) / (1 - c12 * c12);
  const double beta = (p2 - p1 * c12) / (1 - c12 * c12);
  return finish_projection(n - alpha * c1 - beta * c2);
}

torch::Tensor project_orthogonal_solve(const torch::Tensor& primary, const std::vector<torch::Tensor>& conditions) {
  const auto n = unit_vector(primary, "primary direction");
  if (conditions.empty()) return n.to(torch::kFloat32);
  const auto c = stack_conditions(conditions, n.numel());
  check_conditions(c);
  // Least squares: coefficients a minimising |C^T a - n|; the residual is orthogonal to every row.
  const auto a = std::get<0>(torch::linalg_lstsq(c.t(), n.unsqueeze(1), c10::nullopt, c10::nullopt));
  const auto residual = n - torch::mv(c.t(), a.squeeze(1));
  return finish_projection(residual);
}

Boundary condition_boundary(const Boundary& primary, const std::vector<Boundary>& conditions) {
  std::vector<torch::Tensor> normals;
  for (const auto& c : conditions) {
    check_dimension(c, primary.dim(), "condition '" + c.attribute + "'");
    normals.push_back(c.normal);
  }
  Boundary out = primary;
  out.normal = project_orthogonal(primary.normal, normals);
  const auto n = primary.normal.to(torch::kFloat64).reshape({-1}), m = out.normal.to(torch::kFloat64);
  const double cos_primary = n.dot(m).item<double>();
  out.offset = primary.offset * cos_primary;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& c : conditions) {
    const auto cn = c.normal.to(torch::kFloat64).reshape({-1});
    list.push_back({{"attribute", c.attribute},
                    {"cosine_before", n.dot(cn).item<double>()},
                    {"cosine_after", m.dot(cn).item<double>()}});
  }
  out.report["conditions"] = list;
  out.report["cosine_with_primary"] = cos_primary;
  return out;
}

torch::Tensor signed_distance(const torch::Tensor& latents, const Boundary& boundary) {
  if (latents.dim() < 1 || latents.size(-1) != boundary.dim())
    fail("latents", "last dimension " + std::to_string(latents.dim() ? latents.size(-1) : 0) +
                        " does not match boundary '" + boundary.attribute + "' of dimension " +
                        std::to_string(boundary.dim()));
  const auto normal = boundary.normal.to(latents.device(), torch::kFloat32).reshape({-1});
  return torch::matmul(latents.to(torch::kFloat32), normal) + boundary.offset;
}

}  // namespace faceedit::edit

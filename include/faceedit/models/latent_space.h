// faceedit — the latent spaces a generator's codes live in, as a type every config carries:
//   Z      [N, z_dim]             the prior's samples (mapped, with truncation, to W)
//   W      [N, w_dim]             one style code, broadcast to every layer
//   WPlus  [N, num_ws, w_dim]     one style code per layer
// In files and on the command line a space is its name ("z", "w", "wplus"; "w+" is read too):
//   auto s = models::parse_latent_space("wplus");   nlohmann::json j = s;   // "wplus"
//   cfg.space = models::latent_space_from_json(j.at("space"), "editor.safetensors");
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace faceedit::models {

enum class LatentSpace { Z, W, WPlus };

LatentSpace parse_latent_space(const std::string& s);  // "z", "w", "wplus"; else faceedit::Error
std::string to_string(LatentSpace s);
// "" (not given) -> none; else parse_latent_space(s).
std::optional<LatentSpace> parse_optional_latent_space(const std::string& s);
// A config's "space" field: an error names `what` (the file) when it is not a space's name.
LatentSpace latent_space_from_json(const nlohmann::json& j, const std::string& what);

// nlohmann::json's conversions (found by argument-dependent lookup): a space is its name.
inline void to_json(nlohmann::json& j, LatentSpace s) { j = to_string(s); }
inline void from_json(const nlohmann::json& j, LatentSpace& s) { s = parse_latent_space(j.get<std::string>()); }

}  // namespace faceedit::models

// faceedit — comparing editors at equal effect: each method's unit of strength means something
// different, so methods are compared where they reach the same target change rate, by linear
// interpolation along their sweeps (edit_sweep.h JSON), as papers compare them on trade-off curves.
//
//   auto at = faceedit::eval::at_target_change(sweep_json, 0.8);
//   if (at.reached) std::cout << at.alpha << " " << at.metrics["identity_preservation"];
//
// Pure functions of the sweep JSON; thread-safe.
#pragma once

#include <nlohmann/json.hpp>

namespace faceedit::eval {

struct MatchedPoint {
  bool reached = false;      // the sweep reaches the wanted target change rate
  double alpha = 0;          // the interpolated strength where it first does
  double max_target_change = 0;
  nlohmann::json metrics;    // target_change_rate, attribute_preservation_rate, identity_preservation,
                             // background_change (when measured), interpolated at alpha; empty if not reached
};

// Walks the sweep's metrics in increasing strength and returns the first point where the target
// change rate reaches `target_change` (interpolating between the two strengths that bracket it).
// Throws faceedit::Error when the sweep has no metrics.
MatchedPoint at_target_change(const nlohmann::json& sweep, double target_change);

}  // namespace faceedit::eval

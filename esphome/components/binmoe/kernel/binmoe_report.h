// BinMoE node: the float numbers of the protocol's messages (docs/protocol.md), computed once per window
// from the kernel's integers. Not part of the hot path (the kernel itself has no floating point).
#pragma once
#include <math.h>
#include <stdint.h>

namespace binmoe {

// `confidence`: softmax(logits * logit_scale) of the top class (same as node_factory.reference.network.confidence).
// Single precision: the C3 has no FPU, and soft-float singles are smaller and faster than doubles.
inline float confidence(const int32_t *logits, int classes, int top, float logit_scale) {
  float sum = 0.0f;
  for (int j = 0; j < classes; j++)
    sum += expf(static_cast<float>(logits[j] - logits[top]) * logit_scale);
  return 1.0f / sum;
}

// `level_db` in dBFS from Pipeline::window_mean_square() (int16 full scale; floor at -120 dB for silence).
inline float level_dbfs(uint32_t mean_square) {
  if (mean_square == 0)
    return -120.0f;
  const float db = 10.0f * log10f(static_cast<float>(mean_square) * (1.0f / 1073741824.0f));  // exact: 2^-30
  return db < -120.0f ? -120.0f : db;
}

}  // namespace binmoe

// BinMoE node: the float numbers of the protocol's messages (docs/protocol.md), computed once per window
// from the kernel's integers. Not part of the hot path (the kernel itself has no floating point).
#pragma once
#include <math.h>
#include <stdint.h>

namespace binmoe {

// `confidence`: softmax(logits * logit_scale) of the top class (same as gpu_backend.edge.bnn.confidence).
inline float confidence(const int32_t *logits, int classes, int top, float logit_scale) {
  double sum = 0.0;
  for (int j = 0; j < classes; j++) sum += exp(static_cast<double>(logits[j] - logits[top]) * logit_scale);
  return static_cast<float>(1.0 / sum);
}

// `level_db` in dBFS from Pipeline::window_mean_square() (int16 full scale; floor at -120 dB for silence).
inline float level_dbfs(uint32_t mean_square) {
  if (mean_square == 0) return -120.0f;
  const double db = 10.0 * log10(static_cast<double>(mean_square) / 1073741824.0);
  return static_cast<float>(db < -120.0 ? -120.0 : db);
}

}  // namespace binmoe

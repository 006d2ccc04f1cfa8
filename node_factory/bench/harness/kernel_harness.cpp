// Host harness for the bit-exactness tests.
//   harness          windows (int16) on stdin -> per window: features, logits, class, margin, escalate,
//                    mean square (through binmoe::Pipeline, pushed in uneven chunks; the first API must agree)
//   harness stream H one long int16 stream on stdin -> every window the Pipeline makes ready with hop H
//   harness report  int32 logits + u32 mean square records on stdin -> float32 confidence, level_db
//   -DINFER_ONLY     feature windows (int8) on stdin -> inference only (instruction counting)
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include MODEL_HEADER
#include "binmoe_report.h"

namespace m = binmoe::models::MODEL_NS;
using M = m::ModelType;
static_assert(binmoe::takes_input(m::kModel, m::kSampleRate), "the compile-time input check");
static_assert(binmoe::same_features(m::kModel.features, m::kFeatureConfig), "one feature config");

static int16_t window[M::kWindowSamples];
static int32_t logits[M::kClasses];

static void emit(const int8_t *feats, const binmoe::Decision &d, uint32_t mean_square) {
  std::fwrite(feats, 1, M::kFeatureBytes, stdout);
  std::fwrite(logits, sizeof(int32_t), M::kClasses, stdout);
  const int32_t tail[4] = {d.class_idx, d.margin, d.escalate ? 1 : 0, static_cast<int32_t>(mean_square)};
  std::fwrite(tail, sizeof(int32_t), 4, stdout);
}

int main(int argc, char **argv) {
#ifdef INFER_ONLY
  static int8_t feats[M::kFeatureBytes];
  int32_t sink = 0;
  while (std::fread(feats, 1, sizeof(feats), stdin) == sizeof(feats)) sink += binmoe::infer(m::kModel, feats, logits).class_idx;
  return sink == -1;
#endif
  if (argc == 2 && std::strcmp(argv[1], "report") == 0) {
    uint32_t ms;
    while (std::fread(logits, sizeof(int32_t), M::kClasses, stdin) == M::kClasses && std::fread(&ms, 4, 1, stdin) == 1) {
      int top = 0;
      for (int j = 1; j < M::kClasses; j++)
        if (logits[j] > logits[top]) top = j;
      const float out[2] = {binmoe::confidence(logits, M::kClasses, top, m::kModel.logit_scale), binmoe::level_dbfs(ms)};
      std::fwrite(out, sizeof(float), 2, stdout);
    }
    return 0;
  }
  if (argc == 3 && std::strcmp(argv[1], "stream") == 0) {
    static binmoe::Pipeline<M> pipe(m::kModel, std::atoi(argv[2]));
    int16_t chunk[333];
    size_t got;
    while ((got = std::fread(chunk, sizeof(int16_t), 333, stdin)) > 0) {
      int done = 0;
      while (done < static_cast<int>(got)) {
        done += pipe.push(chunk + done, static_cast<int>(got) - done);
        if (pipe.window_ready()) {
          const uint32_t ms = pipe.window_mean_square();
          const int8_t *feats = pipe.features();
          static int8_t copy[M::kFeatureBytes];
          std::memcpy(copy, feats, sizeof(copy));
          emit(copy, pipe.classify(logits), ms);
        }
      }
    }
    return 0;
  }
  static binmoe::Pipeline<M> pipe(m::kModel);
  static m::Features features(m::kTwiddleQuarterSin, m::kBandEdges);  // the first API
  static m::Net net;
  static int8_t feats_v1[M::kFeatureBytes];
  while (std::fread(window, sizeof(int16_t), M::kWindowSamples, stdin) == static_cast<size_t>(M::kWindowSamples)) {
    pipe.reset();
    for (int pos = 0, step = 1; pos < M::kWindowSamples; step = step * 7 % 601 + 1) {  // uneven chunks
      int n = step < M::kWindowSamples - pos ? step : M::kWindowSamples - pos;
      pos += pipe.push(window + pos, n);
    }
    if (!pipe.window_ready()) return 3;
    const uint32_t ms = pipe.window_mean_square();
    static int8_t feats[M::kFeatureBytes];
    std::memcpy(feats, pipe.features(), sizeof(feats));
    const binmoe::Decision d = pipe.classify(logits);
    // The first API gives the same features and the same decision.
    for (int f = 0; f < M::kFrames; f++) features.frame(window + f * M::kFrame, feats_v1 + f * M::kBands);
    m::Net::Result r;
    net.infer(m::kWeights, feats_v1, r);
    if (std::memcmp(feats, feats_v1, sizeof(feats)) != 0 || r.class_idx != d.class_idx || r.margin != d.margin ||
        r.escalate != d.escalate || std::memcmp(r.logits, logits, sizeof(logits)) != 0)
      return 4;
    emit(feats, d, ms);
  }
  return 0;
}

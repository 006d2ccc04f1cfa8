// Host harness for the bit-exactness test: windows (int16) on stdin -> features, logits, decision on stdout.
#include <cstdio>
#include <cstdint>
#include MODEL_HEADER

namespace m = binmoe::models::MODEL_NS;
static m::Features features(m::kTwiddleCos, m::kTwiddleSin, m::kBandEdges);
static m::Net net;
static int16_t window[m::kFrames * m::kFrame];
static int8_t feats[m::kFrames * m::kBands];

int main() {
  m::Net::Result result;
#ifdef INFER_ONLY  // stdin: feature windows (int8), for instruction counting of the network alone
  int32_t sink = 0;
  while (std::fread(feats, 1, sizeof(feats), stdin) == sizeof(feats)) {
    net.infer(m::kWeights, feats, result);
    sink += result.class_idx;
  }
  return sink == -1;
#endif
  while (std::fread(window, sizeof(int16_t), m::kFrames * m::kFrame, stdin) == static_cast<size_t>(m::kFrames * m::kFrame)) {
    for (int f = 0; f < m::kFrames; f++) features.frame(window + f * m::kFrame, feats + f * m::kBands);
    net.infer(m::kWeights, feats, result);
    std::fwrite(feats, 1, sizeof(feats), stdout);
    std::fwrite(result.logits, sizeof(int32_t), m::kClasses, stdout);
    const int32_t tail[3] = {result.class_idx, result.margin, result.escalate ? 1 : 0};
    std::fwrite(tail, sizeof(int32_t), 3, stdout);
  }
  return 0;
}

// rv32imc cost of the node's baseline code (benchmarks/baseline_cost.py): N_LEARN windows of baseline learning
// then N_SCORE windows of signature + anomaly score, on the int8 feature windows of baseline_input.h. Run under
// qemu-riscv32; a run with no windows is subtracted. Writes nothing; exit status 0.
#include <stdint.h>

#include "binmoe_baseline.h"
#include "rv32_runtime.h"

#include "baseline_input.h"  // generated: kFrames, kBands, kRuns, kInput[kRuns][kFrames * kBands]

using namespace esphome::binmoe;

static BaselineLearner learner;
static AnomalyDetector detector;
volatile uint32_t sink;

__attribute__((noinline)) static void work() {
  static const uint8_t digest[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  int32_t sig[MAX_BASELINE_BANDS];
  learner.start(kBands, N_LEARN > 4 ? N_LEARN : 4, digest);
  for (int i = 0; i < N_LEARN; i++) {
    baseline_signature(kInput[i % kRuns], kFrames, kBands, sig);
    learner.push(sig);
  }
  if (N_SCORE > 0) {
    Baseline b;
    learner.result(&b);
    detector.set_baseline(b);
  }
  for (int i = 0; i < N_SCORE; i++) {
    bool started;
    baseline_signature(kInput[i % kRuns], kFrames, kBands, sig);
    sink += detector.push(sig, &started);
  }
}

extern "C" void _start() {
  work();
  sys(93, 0, 0, 0);
  for (;;) {
  }
}

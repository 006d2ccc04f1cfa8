// rv32imc cost of the node's tone-following T3 detector (benchmarks/alarm_tone_cost.py): N_FRAMES frames of
// alarm_tone_input.h's spectra pushed into the detector. Run under qemu-riscv32; a run with no frames is
// subtracted. Writes nothing; exit status 0.
#include <stdint.h>

#include "binmoe_alarm_tone.h"
#include "rv32_runtime.h"

#include "alarm_tone_input.h"  // generated: kRuns, kRe[kRuns][512], kIm[kRuns][512]

using namespace esphome::binmoe;

static AlarmToneDetector detector;
volatile uint32_t sink;

__attribute__((noinline)) static void work() {
  for (int i = 0; i < N_FRAMES; i++)
    sink += detector.push(kRe[i % kRuns], kIm[i % kRuns]);
}

extern "C" void _start() {
  work();
  sys(93, 0, 0, 0);
  for (;;) {
  }
}

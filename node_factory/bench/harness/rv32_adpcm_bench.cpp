// rv32imc cost of the node's capture encoder (benchmarks/capture_cost.py): N_SAMPLES samples of adpcm_input.h
// encoded into a ring of IMA ADPCM blocks, in chunks as the node records them. Run under qemu-riscv32; a run
// with no samples is subtracted. Writes nothing; exit status 0.
#include <stdint.h>

#include "binmoe_adpcm.h"
#include "rv32_runtime.h"

#include "adpcm_input.h"  // generated: kSamples, kInput[kSamples]

using namespace esphome::binmoe;

static constexpr uint32_t BLOCKS = 8;
static uint8_t storage[(BLOCKS + 1) * ADPCM_BLOCK_BYTES];
static AdpcmCapture capture;
volatile uint32_t sink;

__attribute__((noinline)) static void work() {
  capture.init(storage, BLOCKS);
  for (int done = 0; done < N_SAMPLES; done += 256) {
    const int left = N_SAMPLES - done;
    capture.write(kInput + done % kSamples, left < 256 ? left : 256);
  }
  sink += capture.complete();
}

extern "C" void _start() {
  work();
  sys(93, 0, 0, 0);
  for (;;) {
  }
}

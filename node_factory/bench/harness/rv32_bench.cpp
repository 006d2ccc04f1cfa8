// rv32imc instruction counting (node_factory/bench/node_model.py): N_INFER inferences on the RUNS feature
// windows of bench_input.h, then N_FRAMES frames of its samples through the Pipeline; writes the stack
// high-water mark (4 bytes) to stdout. Run under qemu-riscv32; a run with no work is the baseline.
#include <stdint.h>
#include MODEL_HEADER
#include "rv32_runtime.h"
namespace m = binmoe::models::MODEL_NS;
using M = m::ModelType;
#include "bench_input.h"  // generated: kInput[RUNS][M::kFeatureBytes], kFrameSamples[M::kFrame]
static int32_t logits[M::kClasses];
volatile int32_t sink;
__attribute__((noinline)) static void work() {
  static binmoe::Pipeline<M> pipe(m::kModel);
  for (int i = 0; i < N_INFER; i++) sink += binmoe::infer(m::kModel, kInput[i % RUNS], logits).class_idx;
  for (int i = 0; i < N_FRAMES; i++) {
    pipe.push(kFrameSamples, M::kFrame);
    if (pipe.window_ready()) sink += pipe.classify(logits).margin;
  }
}
extern "C" void _start() {
  volatile uint8_t *sp;
  __asm__ volatile("mv %0, sp" : "=r"(sp));
  volatile uint8_t *low = sp - 32768;
  for (volatile uint8_t *p = low; p < sp - 64; p++) *p = 0xA5;  // paint the stack below this frame
  work();
  volatile uint8_t *p = low;
  while (p < sp - 64 && *p == 0xA5) p++;
  const int32_t stack_used = static_cast<int32_t>(sp - p);
  sys(64, 1, reinterpret_cast<long>(&stack_used), 4);
  sys(93, 0, 0, 0);
  for (;;) {
  }
}

// Instantiates the kernel for the configured model. `binmoe/binmoe_model.h` is written by the component's
// code generation: it includes the model header and says which model and hop to use, and static_asserts that
// the model takes the configured input.
#include "binmoe_runner.h"

#include "binmoe/binmoe_kernel.h"
#include "binmoe/binmoe_model.h"
#include "binmoe/binmoe_report.h"

namespace esphome::binmoe {

using M = BINMOE_MODEL_TYPE;
static_assert(M::kClasses <= MAX_CLASSES, "the BinMoE component supports up to 16 classes");
// The model header's constexpr kModel is read in place; the per-class margins live in the Runner (RAM) so
// YAML can set them without touching the model's constant data.
static constexpr const M &MODEL = BINMOE_MODEL;
static constexpr int HOP_SAMPLES = BINMOE_HOP_FRAMES * M::kFrame;

const ModelInfo MODEL_INFO{MODEL.id,    MODEL.hash8,     MODEL.class_names,          M::kClasses,
                           M::kFrames,  M::kBands,       MODEL.features.sample_rate, M::kWindowSamples,
                           HOP_SAMPLES, MODEL.band_edges};

// The pipeline's buffers (a static object: nothing on the heap). Code generation keeps the hop in range.
static ::binmoe::Pipeline<M> pipeline(MODEL, BINMOE_HOP_FRAMES);

Runner::Runner() {
  for (int i = 0; i < M::kClasses; i++)
    this->margins_[i] = MODEL.weights.margin_thresholds[i];
}
int Runner::push(const int16_t *samples, int count) { return pipeline.push(samples, count); }
bool Runner::window_ready() const { return pipeline.window_ready(); }
void Runner::classify(WindowResult &out) {
  out.level_dbfs = ::binmoe::level_dbfs(pipeline.window_mean_square());
  const ::binmoe::Decision d = pipeline.classify(out.logits, this->margins_);
  out.class_idx = d.class_idx;
  out.margin = d.margin;
  out.escalate = d.escalate;
  out.confidence = ::binmoe::confidence(out.logits, M::kClasses, d.class_idx, MODEL.logit_scale);
}
const int8_t *Runner::features() const { return pipeline.features(); }
void Runner::reset() { pipeline.reset(); }
void Runner::set_frame_hook(FrameHook hook, void *ctx) { pipeline.set_frame_hook(hook, ctx); }

}  // namespace esphome::binmoe

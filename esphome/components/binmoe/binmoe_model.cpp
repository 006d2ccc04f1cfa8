// Instantiates the kernel for the configured model. `binmoe/binmoe_model.h` is written by the component's
// code generation: it includes the model header and says which model and hop to use, and static_asserts that
// the model takes the configured input.
#include "binmoe_runner.h"

#include "binmoe/binmoe_kernel.h"
#include "binmoe/binmoe_model.h"
#include "binmoe/binmoe_report.h"

namespace esphome::binmoe {

// MODEL is the header's constexpr kModel: the runner reads it in place, and the per-class margins live in the
// Runner (RAM) so YAML can set them without touching the model's constant data.
template<class M, const M &MODEL> class ModelRunner final : public Runner {
  static_assert(M::kClasses <= MAX_CLASSES, "the BinMoE component supports up to 16 classes");

 public:
  static constexpr ModelInfo INFO{MODEL.id,      MODEL.hash8,   MODEL.class_names,          M::kClasses,
                                  M::kFrames,    M::kBands,     MODEL.features.sample_rate, M::kFrame,
                                  M::kWindowSamples};

  explicit ModelRunner(int hop_frames) : Runner(INFO, hop_frames), pipeline_(MODEL, hop_frames) {
    for (int i = 0; i < M::kClasses; i++) margins_[i] = MODEL.weights.margin_thresholds[i];
  }
  int push(const int16_t *samples, int count) override { return pipeline_.push(samples, count); }
  bool window_ready() const override { return pipeline_.window_ready(); }
  void classify(WindowResult &out) override {
    out.level_dbfs = ::binmoe::level_dbfs(pipeline_.window_mean_square());
    const ::binmoe::Decision d = pipeline_.classify(out.logits, margins_);
    out.decision = Decision{d.class_idx, d.margin, d.escalate};
    out.confidence = ::binmoe::confidence(out.logits, M::kClasses, d.class_idx, MODEL.logit_scale);
  }
  const int8_t *features() const override { return pipeline_.features(); }
  void reset() override { pipeline_.reset(); }

 private:
  ::binmoe::Pipeline<M> pipeline_;
};

Runner *model_runner() {
  static ModelRunner<BINMOE_MODEL_TYPE, BINMOE_MODEL> runner(BINMOE_HOP_FRAMES);
  return &runner;
}

}  // namespace esphome::binmoe

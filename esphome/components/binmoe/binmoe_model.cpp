// Instantiates the kernel for the configured model. `binmoe/binmoe_model.h` is written by the component's
// code generation: it includes the model header and says which model and hop to use, and static_asserts that
// the model takes the configured input.
#include "binmoe_runner.h"

#include "binmoe/binmoe_kernel.h"
#include "binmoe/binmoe_model.h"
#include "binmoe/binmoe_report.h"

namespace esphome::binmoe {

// The model is copied (a handful of pointers) so the per-class margins can be set in YAML without touching
// the model's constant data.
template<class M> class ModelRunner final : public Runner {
  static_assert(M::kClasses <= MAX_CLASSES, "the BinMoE component supports up to 16 classes");

 public:
  ModelRunner(const M &model, int hop_frames) : model_(model), pipeline_(model_, hop_frames), hop_frames_(hop_frames) {
    for (int i = 0; i < M::kClasses; i++) margins_[i] = model.weights.margin_thresholds[i];
    model_.weights.margin_thresholds = margins_;
  }
  int push(const int16_t *samples, int count) override { return pipeline_.push(samples, count); }
  bool window_ready() const override { return pipeline_.window_ready(); }
  void classify(WindowResult &out) override {
    out.level_dbfs = ::binmoe::level_dbfs(pipeline_.window_mean_square());
    const ::binmoe::Decision d = pipeline_.classify(out.logits);
    out.decision = Decision{d.class_idx, d.margin, d.escalate};
    out.confidence = ::binmoe::confidence(out.logits, M::kClasses, d.class_idx, model_.logit_scale);
  }
  const int8_t *features() const override { return pipeline_.features(); }
  int feature_frames() const override { return M::kFrames; }
  int feature_bands() const override { return M::kBands; }
  int classes() const override { return M::kClasses; }
  const char *class_name(int idx) const override { return model_.class_names[idx]; }
  int32_t margin_threshold(int idx) const override { return margins_[idx]; }
  void set_margin_threshold(int idx, int32_t value) override {
    if (idx >= 0 && idx < M::kClasses) margins_[idx] = value;
  }
  const char *model_id() const override { return model_.id; }
  const char *model_hash() const override { return model_.hash; }
  int32_t sample_rate() const override { return model_.features.sample_rate; }
  int window_samples() const override { return M::kWindowSamples; }
  int hop_samples() const override { return hop_frames_ * M::kFrame; }
  void reset() override { pipeline_.reset(); }

 private:
  M model_;
  int32_t margins_[M::kClasses];
  ::binmoe::Pipeline<M> pipeline_;
  int hop_frames_;
};

Runner *model_runner() {
  static ModelRunner<BINMOE_MODEL_TYPE> runner(BINMOE_MODEL, BINMOE_HOP_FRAMES);
  return &runner;
}

}  // namespace esphome::binmoe

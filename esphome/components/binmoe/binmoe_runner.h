// The model behind a small virtual interface, so the component (routing, entities, API) is ordinary code that
// does not depend on the model's sizes. The kernel and the model header are only included by
// binmoe_model.cpp: their `::binmoe` namespace would clash with `esphome::binmoe` in ESPHome's main.cpp.
#pragma once
#include <stdint.h>

namespace esphome::binmoe {

static constexpr int MAX_CLASSES = 16;  // protocol messages and per-class settings are sized for this

// The routing decision of one window (same fields as the kernel's binmoe::Decision).
struct Decision {
  int class_idx;    // top-1 class
  int32_t margin;   // top-1 minus top-2 integer logit
  bool escalate;    // margin below the class's threshold
};

// What one classified window gives the router.
struct WindowResult {
  Decision decision;
  int32_t logits[MAX_CLASSES];
  float confidence;  // softmax(logits * logit_scale) of the top class
  float level_dbfs;  // RMS level of the window's samples
};

// What the component needs to know of the configured model (a constant in binmoe_model.cpp).
struct ModelInfo {
  const char *id;     // protocol `model`
  const char *hash8;  // protocol `model_hash`: 8 hex digits
  const char *const *class_names;
  int classes;
  int frames, bands;  // of the feature window
  int32_t sample_rate;
  int frame_samples, window_samples;
};

// The model's streaming pipeline; only what depends on the model's sizes is virtual.
class Runner {
 public:
  Runner(const ModelInfo &info, int hop_frames) : info_(info), hop_frames_(hop_frames) {}
  // Consume samples until a window is ready (or all are used); returns how many were consumed.
  virtual int push(const int16_t *samples, int count) = 0;
  virtual bool window_ready() const = 0;
  // Classify the ready window (clears the ready flag) with the current margin thresholds.
  virtual void classify(WindowResult &out) = 0;
  // The last classified window's features: frames x bands int8, frame-major; valid until the next push().
  virtual const int8_t *features() const = 0;
  virtual void reset() = 0;

  int feature_frames() const { return info_.frames; }
  int feature_bands() const { return info_.bands; }
  int classes() const { return info_.classes; }
  const char *class_name(int idx) const { return info_.class_names[idx]; }
  const char *model_id() const { return info_.id; }
  const char *model_hash8() const { return info_.hash8; }
  int32_t sample_rate() const { return info_.sample_rate; }
  int window_samples() const { return info_.window_samples; }
  int hop_samples() const { return hop_frames_ * info_.frame_samples; }
  int32_t margin_threshold(int idx) const { return margins_[idx]; }
  void set_margin_threshold(int idx, int32_t value) {
    if (idx >= 0 && idx < info_.classes) margins_[idx] = value;
  }

 protected:
  ~Runner() = default;  // the runner is a static object that is never deleted: no virtual destructor
  const ModelInfo &info_;
  int hop_frames_;
  int32_t margins_[MAX_CLASSES];  // per-class escalation margins (the model's, or set in YAML)
};

// The configured model's runner (binmoe_model.cpp; a static object, nothing on the heap).
Runner *model_runner();

}  // namespace esphome::binmoe
